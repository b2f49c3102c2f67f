"""Errors the CLI turns into one readable line instead of a stack trace."""


class LakehouseError(Exception):
    """A problem the user can fix: bad set-up or project settings. The message says how."""


class SetupError(LakehouseError):
    """The machine is missing something (Java, network for the first jar download, an env var)."""


class SettingsError(LakehouseError):
    """An environment variable or project setting is invalid."""
