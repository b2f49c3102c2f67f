"""Errors the CLI turns into one readable line instead of a stack trace."""


class LakehouseError(Exception):
    """A problem the user can fix: bad set-up, bad config, bad input. The message says how."""


class SetupError(LakehouseError):
    """The machine is missing something (Java, network for the first jar download, an env var)."""


class ConfigError(LakehouseError):
    """The sources file or the project settings are invalid."""
