"""Targets: read-only views of a checkout, an extracted snapshot or a remote host."""

from .base import (
    ALLOWED_COMMANDS,
    CommandNotAllowed,
    CommandResult,
    FileEntry,
    Target,
    TargetError,
    TargetProblem,
    is_allowed,
)
from .local import LocalTree

__all__ = [
    "ALLOWED_COMMANDS",
    "CommandNotAllowed",
    "CommandResult",
    "FileEntry",
    "LocalTree",
    "Target",
    "TargetError",
    "TargetProblem",
    "is_allowed",
]
