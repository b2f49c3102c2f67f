"""Where the project lives and what its environments and layers are called.

Environment and layer names are defined once, in dbt_project.yml's `vars`, so dbt and the Python
side read the same values. The schema of a layer in an environment is `<env>_<layer>`
(dbt's own default for a custom schema, with the environment as the target schema).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import yaml

from ingestion.config import Config, read_config, validate_identifier
from runtime.errors import SettingsError

# The checkout; LAKEHOUSE_PROJECT_DIR points an installed wheel at the project's files (a Databricks job sets it to
# the bundle's synced files: dbt_project.yml, lakehouse.yml, models).
PROJECT_ROOT = Path(os.environ.get("LAKEHOUSE_PROJECT_DIR") or Path(__file__).resolve().parents[1])


def state_dir() -> Path:
    """The one folder holding local state: metastore, warehouse, sample landing zone (LAKEHOUSE_HOME overrides)."""
    return Path(os.environ.get("LAKEHOUSE_HOME") or PROJECT_ROOT / ".lakehouse").resolve()


def warehouse_uri() -> str | None:
    """Where the Delta tables live when not under LAKEHOUSE_HOME: LAKEHOUSE_WAREHOUSE_URI, e.g. s3a://bucket/lake
    (a cluster's workers share no disk). The metastore stays with the engine."""
    return os.environ.get("LAKEHOUSE_WAREHOUSE_URI") or None


def jar_cache_dir() -> Path:
    """Pinned jars, shared by every state folder of this checkout (LAKEHOUSE_JARS overrides)."""
    return Path(os.environ.get("LAKEHOUSE_JARS") or PROJECT_ROOT / ".lakehouse" / "jars").resolve()


@functools.cache
def _project_vars() -> dict:
    return yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())["vars"]


def environments() -> list[str]:
    return list(_project_vars()["environments"])


def layers() -> dict[str, str]:
    return dict(_project_vars()["layers"])


def environment() -> str:
    """The current environment (LAKEHOUSE_ENV, default dev), refusing prod unless explicitly allowed.

    The catalog ignores the case of schema names (`Prod_silver` is `prod_silver`), so names are compared the
    same way: any spelling of prod is prod and needs LAKEHOUSE_ALLOW_PROD=yes, and only the exact lowercase
    names of dbt_project.yml's `environments` are accepted."""
    env = os.environ.get("LAKEHOUSE_ENV", "dev")
    if env.lower() == "prod" and os.environ.get("LAKEHOUSE_ALLOW_PROD") != "yes":
        raise SettingsError("refusing to write to prod: set LAKEHOUSE_ALLOW_PROD=yes in the production job only")
    if env not in environments() or env != env.lower():
        raise SettingsError(
            f"LAKEHOUSE_ENV={env!r} is not one of {', '.join(environments())} (dbt_project.yml vars; lowercase)"
        )
    return env


def schema_prefix(env: str | None = None) -> str:
    """What every layer's schema starts with: the environment, or in dev with LAKEHOUSE_DEVELOPER set,
    `dev_<developer>` (a developer's own schemas in a shared workspace). Matches the dbt profile's target schema."""
    env = env or environment()
    developer = os.environ.get("LAKEHOUSE_DEVELOPER", "")
    return f"{env}_{developer}" if env == "dev" and developer else env


def schema(layer: str, env: str | None = None) -> str:
    """Schema of `layer` (bronze/silver/gold) in `env`: `<prefix>_<layer name>` (schema_prefix)."""
    return validate_identifier(f"{schema_prefix(env)}_{layers()[layer]}", "schema")


def config_path() -> Path:
    return Path(os.environ.get("LAKEHOUSE_CONFIG") or PROJECT_ROOT / "lakehouse.yml")


def load_config(path: Path | None = None) -> Config:
    """The sources file; LAKEHOUSE_LANDING_URI and LAKEHOUSE_S3_ENDPOINT override its landing settings."""
    return read_config(
        path or config_path(),
        base_dir=PROJECT_ROOT,
        default_landing=state_dir() / "landing",
        landing_uri=os.environ.get("LAKEHOUSE_LANDING_URI"),
        s3_endpoint=os.environ.get("LAKEHOUSE_S3_ENDPOINT"),
    )
