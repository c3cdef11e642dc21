"""What in a scanned tree is a deployment artifact, and what is not (tests, vendored code, samples).

A repository holds more than what it deploys: test fixtures (``testdata/``, ``tests/``,
``*_test.go``, ``.env.testing``) are written to be wrong on purpose, vendored and third-party code
(``vendor/``, ``third_party/``, ``node_modules/``) is someone else's and is not installed as a
config, lockfiles are generated, and ``examples/`` or ``samples/`` inside a repository are
illustrations. Judging them as production configs is what drowns a careful repository in false
positives, so by default they are out of scope: they still *exist* (a document may reference them)
but they are not read or analysed, and the run says once how many files were skipped.

Paths are relative to the scanned root, so ``--path examples/chom-deployment`` scans that example
fully: only directories *inside* the scanned tree are judged by name.

Globs (config ``include``/``exclude``, ``--include``/``--exclude``) follow gitignore habits: a glob
without ``/`` matches a file or directory name at any depth (``*.md``, ``vendor``); one with ``/`` is
anchored at the root, where ``*`` stays within one path segment and ``**`` spans any number of them,
including none (``**/*.md`` matches ``README.md``). A glob that matches a directory covers everything
below it. ``exclude`` wins over everything; ``include`` brings back what the default rules skip.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

# Directory names whose contents are tests, fixtures, vendored code or samples (compared lowercased).
TEST_DIRS = frozenset({"test", "tests", "testdata", "test-data", "test_data", "__tests__", "testing", "fixtures"})
VENDOR_DIRS = frozenset(
    {
        "vendor",
        "vendored",
        "third_party",
        "third-party",
        "thirdparty",
        "node_modules",
        "bower_components",
        "site-packages",
        ".venv",
        "venv",
    }
)
SAMPLE_DIRS = frozenset({"example", "examples", "sample", "samples", "demo", "demos"})
LOCKFILES = frozenset(
    {
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "composer.lock",
        "cargo.lock",
        "go.sum",
        "gemfile.lock",
        "poetry.lock",
        "pipfile.lock",
        "uv.lock",
        "mix.lock",
        "flake.lock",
        "packages.lock.json",
        "podfile.lock",
        "pubspec.lock",
        ".terraform.lock.hcl",
    }
)
# Test files by name: Go/Python/JS/Ruby conventions and test-only dotenv files.
_TEST_FILE = re.compile(
    r"(_test\.[a-z0-9]+|_spec\.[a-z0-9]+|\.(test|spec)\.[a-z0-9]+)$|^test_[^/]*\.py$|^\.env\.(testing|test)$",
    re.I,
)


def default_reason(path: str) -> str | None:
    """Why the default rules leave ``path`` out of scope ("test fixture", ...), or None if in scope."""
    parts = path.split("/")
    for d in parts[:-1]:
        low = d.lower()
        if low in TEST_DIRS:
            return "test fixture"
        if low in VENDOR_DIRS:
            return "vendored or third-party code"
        if low in SAMPLE_DIRS:
            return "example or sample code"
    name = parts[-1]
    if name.lower() in LOCKFILES:
        return "lockfile"
    if _TEST_FILE.search(name):
        return "test fixture"
    return None


@functools.lru_cache(maxsize=512)
def _compile(glob: str) -> tuple[re.Pattern[str], bool]:
    """(regex over a full relative path or a single name, whether it is matched against names)."""
    g = glob.strip()
    anchored = "/" in g.rstrip("/")
    g = g.strip("/")
    out = []
    i = 0
    while i < len(g):
        if g.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif g.startswith("**", i):
            out.append(".*")
            i += 2
        elif g[i] == "*":
            out.append("[^/]*")
            i += 1
        elif g[i] == "?":
            out.append("[^/]")
            i += 1
        elif g[i] == "[":
            j = g.find("]", i + 1)
            if j < 0:
                out.append(re.escape(g[i]))
                i += 1
            else:
                body = g[i + 1 : j]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = j + 1
        else:
            out.append(re.escape(g[i]))
            i += 1
    return re.compile("".join(out) + r"\Z"), not anchored


def glob_matches(glob: str, path: str) -> bool:
    """Does ``glob`` match ``path`` (relative, ``/``-separated) or one of its parent directories?"""
    rx, by_name = _compile(glob)
    path = path.lstrip("/")
    parts = path.split("/")
    if by_name:
        return any(rx.match(p) for p in parts)
    return any(rx.match("/".join(parts[:n])) for n in range(1, len(parts) + 1))


@dataclass(frozen=True)
class Scope:
    """Which paths of a tree are analysed; see the module docstring for the rules."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    defaults: bool = True

    @classmethod
    def of(cls, include: Iterable[str] = (), exclude: Iterable[str] = (), defaults: bool = True) -> Scope:
        return cls(tuple(include), tuple(exclude), defaults)

    def reason(self, path: str) -> str | None:
        """Why ``path`` is out of scope, or None when it is analysed."""
        if any(glob_matches(g, path) for g in self.exclude):
            return "excluded by a glob"
        if any(glob_matches(g, path) for g in self.include):
            return None
        return default_reason(path) if self.defaults else None

    def skips(self, path: str) -> bool:
        return self.reason(path) is not None

