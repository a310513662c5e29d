"""One error hierarchy for the whole package (stdlib only).

Library code raises these; only the CLI turns them into a one-line message and an exit code.
A message names the value, where it is, and the fix.
"""

from __future__ import annotations


class AblateError(Exception):
    """Base of every error ablate raises on purpose. Exit code 1: something failed."""

    exit_code = 1


class UsageError(AblateError):
    """Bad input from the user (a file, a flag, a name). Exit code 2."""

    exit_code = 2


class SpecError(UsageError):
    """A study file that does not validate."""


class DataError(UsageError):
    """Input data that is missing, malformed or in the wrong layout."""


class NotFoundError(UsageError):
    """A study, trial or file that the user named does not exist."""


class StorageError(AblateError):
    """The results database cannot be opened, migrated or written."""


class TrialError(AblateError):
    """A trial failed while training."""


class DeviceError(AblateError):
    """A GPU or CPU slot cannot be used as asked."""
