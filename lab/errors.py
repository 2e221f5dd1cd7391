"""Errors the learner may see: one clear line, never a traceback."""


class LabError(Exception):
    """A problem with a message meant for a person, and the exit status to use."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class WorldMissing(LabError):
    """The named world does not exist (or was left broken and cleaned up)."""


class WorldBusy(LabError):
    """Another cnlab command holds the world's lock."""
