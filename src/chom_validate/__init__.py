"""chom-validate: evidence-backed production-readiness validation."""

from ._version import __version__

SCHEMA_VERSION = "1.0"

__all__ = ["SCHEMA_VERSION", "__version__"]
