"""The errors aecore raises for bad input: each carries one readable message.

The CLI prints them as one line and exits with code 2; the dashboard shows
them as a message box. Anything else escaping aecore is a bug.
"""


class AecoreError(ValueError):
    """Base class: a problem with what the user asked for, not a bug."""


class ConfigError(AecoreError):
    """A configuration value is out of range or inconsistent."""


class DataError(AecoreError):
    """A dataset is missing, corrupt or cannot be prepared as asked."""


class CheckpointError(AecoreError):
    """A run folder is missing a file, is corrupt or does not match its config."""
