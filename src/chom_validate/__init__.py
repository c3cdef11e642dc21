"""chom-validate: evidence-backed production-readiness validation."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("chom-validate")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+source"

SCHEMA_VERSION = "1.0"

__all__ = ["SCHEMA_VERSION", "__version__"]
