"""Errors ingestion raises for the caller to turn into one readable line instead of a stack trace."""


class IngestionError(Exception):
    """A problem the user can fix (bad sources file, bad input, a concurrent run). The message says how."""


class ConfigError(IngestionError):
    """The sources file is invalid."""
