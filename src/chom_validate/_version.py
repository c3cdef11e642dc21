"""The release version, as a literal: `--version` must not pay for importlib.metadata (~50 ms).

tests/test_startup.py asserts it equals the installed distribution's version (pyproject.toml).
"""

__version__ = "0.1.0"
