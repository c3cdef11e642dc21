"""Artifact parsers and discovery. Importing this package registers every parser and detector."""

import importlib
import pkgutil

from .base import Artifact, ArtifactParseError, parser
from .discover import ArtifactIndex, Candidate, detector, discover

for _mod in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_mod.name}")

__all__ = ["Artifact", "ArtifactIndex", "ArtifactParseError", "Candidate", "detector", "discover", "parser"]
