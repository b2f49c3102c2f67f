"""Is the Databricks workspace there? Checked before dbt connects, so a wrong host fails in seconds with one line.

Without it a wrong host hangs for many minutes: dbt-databricks authenticates through the Databricks SDK, which
retries an unreachable host's discovery endpoint for 5 minutes with no setting to shorten it, and only then does
the SQL connector (bounded in profiles/profiles.yml) try. A workspace that answers TLS on its port is reachable;
what it thinks of the path and token is the connector's to say (it does not retry those).
"""

from __future__ import annotations

import socket
import ssl
from urllib.parse import urlsplit

from runtime.errors import SetupError

CONNECT_TIMEOUT_S = 10.0


def host_and_port(host: str) -> tuple[str, int]:
    """`adb-1.2.azuredatabricks.net`, `https://adb-...net/` or `host:port` -> (host name, port; 443 by default)."""
    parts = urlsplit(host if "//" in host else f"//{host}")
    if not parts.hostname:
        raise SetupError(f"DATABRICKS_HOST={host!r} is not a host name")
    return parts.hostname, parts.port or 443


def check_reachable(host: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Raise SetupError naming `host` and the cause unless it accepts a TCP connection and completes a TLS
    handshake within `timeout` seconds each. The certificate is not judged here (the connector does that)."""
    name, port = host_and_port(host)
    where = f"{name}:{port}"
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((name, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=name),
        ):
            return
    except socket.gaierror as error:
        cause = f"unknown host ({error.strerror})"
    except TimeoutError:
        cause = f"no answer within {timeout:g} s"
    except ConnectionRefusedError:
        cause = "connection refused"
    except (OSError, ssl.SSLError) as error:
        cause = str(error) or type(error).__name__
    raise SetupError(f"cannot reach the Databricks workspace at {where}: {cause} (check DATABRICKS_HOST)")
