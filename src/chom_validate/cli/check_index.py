"""A cached index of the check registry's metadata, so `list` and `explain` answer without importing
every check module (and with them the engine, every parser and pydantic): ~0.1 s instead of 1-5 s.

The index holds what those commands print (id, name, category, severity, pillar, profile, the parsed
docstring, the plugin problems, the category names) and the files it was built from. It is reused
only while every one of those files is unchanged (path, size, mtime in ns, inode): every ``.py``
file and directory of the ``chom_validate`` package and of the built-in checks, every ``*.py`` of
each ``--checks-dir`` and that directory, the module files of the entry-point plugins, and every
``sys.path`` directory (installing or removing a distribution, hence an entry-point plugin, changes
its directory). Anything else (a missing, corrupt or unwritable index, ``--no-cache``'s
``CHOM_VALIDATE_NO_CACHE=1``) means the registry is loaded the normal way; the index only ever saves
time, never changes an answer. It lives next to the ShellCheck cache, never in a scanned tree.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

INDEX_FORMAT = 1
NO_CACHE_ENV = "CHOM_VALIDATE_NO_CACHE"  # = shellcheck.NO_CACHE_ENV (that module is not imported here)


@dataclass(frozen=True)
class CheckMeta:
    """The part of a ``registry.CheckSpec`` that `list` and `explain` print (severity as its value)."""

    id: str
    name: str
    category: str
    severity: str
    pillar: str
    profile: str
    doc: dict[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return self.doc.get("title", self.name)


@dataclass
class CheckIndex:
    checks: dict[str, CheckMeta]
    errors: list[tuple[str, str]]  # (source, reason) of each plugin problem, in load order
    categories: dict[str, str]
    profiles: tuple[str, ...]
    doc_sections: tuple[str, ...]
    from_cache: bool = False

    @property
    def digest(self) -> str:
        """A hash of everything the index says (not of the files it was built from)."""
        payload = json.dumps(
            [
                [c.__dict__ for c in self.checks.values()],
                self.errors,
                self.categories,
                self.profiles,
                self.doc_sections,
            ]
        )
        return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()

    def select(self, profile: str, categories: list[str] | None = None) -> list[CheckMeta]:
        """The same selection as ``Registry.select`` (profile order, category filter, sorted by id)."""
        rank = self.profiles.index(profile)  # an unknown profile raises ValueError, as Registry does
        return [
            c
            for c in sorted(self.checks.values(), key=lambda c: c.id)
            if self.profiles.index(c.profile) <= rank and (not categories or c.category in categories)
        ]


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / "chom-validate" / "registry"


def stamp(path: str) -> list[Any] | None:
    """What identifies a file's version: size, mtime (ns) and inode (None when missing)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def _tree_files(root: str, out: list[str]) -> None:
    """Every directory and file under ``root`` (sorted, so the list is deterministic): the modules
    and the data files they may read when imported."""
    out.append(root)
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return
    for e in entries:
        if e.name == "__pycache__" or e.name.startswith("."):
            continue
        if e.is_dir(follow_symlinks=False):
            _tree_files(e.path, out)
        elif not e.name.endswith((".pyc", ".pyo")):
            out.append(e.path)


def _package_dirs() -> list[str]:
    dirs = [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]  # src/chom_validate
    spec = importlib.util.find_spec("chom_validate.checks")
    if spec is not None and spec.submodule_search_locations:
        dirs += [os.path.abspath(p) for p in spec.submodule_search_locations]
    return dirs


def _base_files(checks_dirs: list[Path]) -> list[str]:
    files: list[str] = []
    for pkg in _package_dirs():
        _tree_files(pkg, files)
    for d in checks_dirs:
        root = os.path.abspath(d)
        files.append(root)
        with contextlib.suppress(OSError):
            files += sorted(str(p) for p in Path(root).glob("*.py"))
    files += [os.path.abspath(p) for p in sys.path if p and os.path.isdir(p)]
    return files


def _request_key(checks_dirs: list[Path]) -> str:
    """Which index file: one per interpreter, import path (``python -m`` and the console script
    differ in ``sys.path[0]``) and set of ``--checks-dir``s."""
    payload = json.dumps(
        [
            INDEX_FORMAT,
            sys.prefix,
            sys.version,
            [os.path.abspath(p) for p in sys.path],
            [os.path.abspath(d) for d in checks_dirs],
        ]
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def enabled() -> bool:
    return os.environ.get(NO_CACHE_ENV, "").strip() in ("", "0")


def _read(checks_dirs: list[Path]) -> CheckIndex | None:
    path = cache_root() / f"{_request_key(checks_dirs)}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != INDEX_FORMAT:
            return None
        deps = data["deps"]
        base = _base_files(checks_dirs)
        if [d[0] for d in deps[: len(base)]] != base:
            return None  # a file or directory appeared or went away
        for name, recorded in deps:
            if stamp(name) != recorded:
                return None
        return CheckIndex(
            checks={c["id"]: CheckMeta(**c) for c in data["checks"]},
            errors=[(s, r) for s, r in data["errors"]],
            categories=dict(data["categories"]),
            profiles=tuple(data["profiles"]),
            doc_sections=tuple(data["doc_sections"]),
            from_cache=True,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write(checks_dirs: list[Path], index: CheckIndex, extra: list[str]) -> None:
    root = cache_root()
    files = _base_files(checks_dirs) + sorted(set(extra))
    deps = [[f, stamp(f)] for f in files]
    doc = {
        "format": INDEX_FORMAT,
        "deps": deps,
        "checks": [c.__dict__ for c in index.checks.values()],
        "errors": index.errors,
        "categories": index.categories,
        "profiles": list(index.profiles),
        "doc_sections": list(index.doc_sections),
    }
    import tempfile

    tmp: str | None = None
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=root)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh)
        os.replace(tmp, root / f"{_request_key(checks_dirs)}.json")
        tmp = None
    except OSError:  # read-only or full cache directory: no index, same answers
        pass
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _entry_point_files() -> list[str]:
    """Module files of the entry-point plugins the registry just loaded (already imported)."""
    out: list[str] = []
    try:
        from importlib.metadata import entry_points

        for ep in entry_points(group="chom_validate.checks"):
            mod = sys.modules.get(ep.module)
            f = getattr(mod, "__file__", None)
            if f:
                out.append(os.path.abspath(f))
    except Exception:
        pass
    return out


def from_registry(reg: Any) -> CheckIndex:
    from ..registry import CATEGORIES, DOC_SECTIONS, PROFILES

    return CheckIndex(
        checks={
            s.id: CheckMeta(
                id=s.id,
                name=s.name,
                category=s.category,
                severity=s.severity.value,
                pillar=s.pillar,
                profile=s.profile,
                doc=dict(s.doc),
            )
            for s in reg.checks.values()
        },
        errors=[(e.source, e.reason) for e in reg.errors],
        categories=dict(CATEGORIES),
        profiles=tuple(PROFILES),
        doc_sections=tuple(DOC_SECTIONS),
    )


def cached(checks_dirs: list[Path]) -> CheckIndex | None:
    """The index when it is enabled and current for these ``--checks-dir``s, else None."""
    return _read(checks_dirs) if enabled() else None


def build(checks_dirs: list[Path]) -> CheckIndex:
    """Load every check the normal way (``registry.load_registry``) and store the index; the
    caller has checked that every ``--checks-dir`` is a directory (``common.build_registry``)."""
    from ..registry import load_registry

    index = from_registry(load_registry(checks_dirs))
    if enabled():
        _write(checks_dirs, index, _entry_point_files())
    return index
