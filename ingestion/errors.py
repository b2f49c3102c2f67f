"""Errors ingestion raises for the caller to turn into one readable line instead of a stack trace."""


class IngestionError(Exception):
    """A problem the user can fix (bad sources file, bad input, a concurrent run). The message says how."""


class ConfigError(IngestionError):
    """The sources file is invalid."""


def listed(names: list[str], shown: int = 10) -> str:
    """The first `shown` names and how many more: a message stays one readable line however many there are."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
