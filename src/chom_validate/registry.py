"""Check registry: the ``@check`` decorator and the loaders (built-in, entry points, ``--checks-dir``).

A check is a plain generator function yielding ``Result``s. Its parameters are its inputs, resolved
by type like pytest fixtures (``chom_validate.api``): a parameter annotated with a type that has a
provider gets that fact; any other parameter (conventionally ``ctx``) gets the scan context. Loading
is defensive: a plugin that fails to import is recorded as a ``PluginError`` and skipped; a
duplicate id is recorded and the second definition ignored. Neither stops a run.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import pkgutil
import re
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from .api import HttpPlanner, Provider, provider_for
from .catalog import CATEGORIES, DOC_SECTIONS, PILLARS, PROFILES, REQUIRED_DOC_SECTIONS, profile_includes
from .findings import Result, Severity

CheckFunc = Callable[..., Iterator[Result]]

__all__ = [
    "CATEGORIES",
    "DOC_SECTIONS",
    "PILLARS",
    "PROFILES",
    "REQUIRED_DOC_SECTIONS",
    "CheckFunc",
    "CheckSpec",
    "PluginError",
    "Registry",
    "check",
    "load_registry",
    "parse_doc",
]

_ID_RE = re.compile(r"^[A-Z]{2,4}\d{3}$")


@dataclass(frozen=True)
class CheckSpec:
    id: str
    name: str
    category: str
    severity: Severity
    pillar: str
    profile: str
    func: CheckFunc
    source: str
    commands: tuple[tuple[str, ...], ...] = ()
    paths: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()  # background probes started at the scan's start (chom_validate.probes)
    doc: dict[str, str] = field(default_factory=dict)
    http: HttpPlanner | None = None  # GETs the check wants answered before it runs
    # (parameter name, provider of its type, or None for the scan context), in signature order
    inputs: tuple[tuple[str, Provider | None], ...] = (("ctx", None),)

    @property
    def live_only(self) -> bool:
        return any(p is not None and p.live_only for _, p in self.inputs)

    @property
    def title(self) -> str:
        return self.doc.get("title", self.name)

    def in_profile(self, profile: str) -> bool:
        return profile_includes(profile, self.profile)


@dataclass
class PluginError:
    source: str
    reason: str


def parse_doc(doc: str | None) -> dict[str, str]:
    """Split a check docstring into its sections (title line + 'What it does' / 'Why it matters' / ...)."""
    if not doc:
        return {}
    lines = [ln.rstrip() for ln in doc.expandtabs().splitlines()]
    # dedent all but the first line
    body = lines[1:]
    indents = [len(ln) - len(ln.lstrip()) for ln in body if ln.strip()]
    cut = min(indents) if indents else 0
    lines = [lines[0].strip()] + [ln[cut:] for ln in body]
    out: dict[str, str] = {"title": lines[0]}
    current: str | None = None
    buf: list[str] = []
    header = re.compile(r"^({})\s*:?\s*$".format("|".join(re.escape(s) for s in DOC_SECTIONS)), re.I)
    for ln in lines[1:]:
        m = header.match(ln.strip())
        if m and ln == ln.lstrip():
            if current:
                out[current] = "\n".join(buf).strip("\n")
            current = next(s for s in DOC_SECTIONS if s.lower() == m.group(1).lower())
            buf = []
        elif current:
            buf.append(ln[4:] if ln.startswith("    ") else ln)
    if current:
        out[current] = "\n".join(buf).strip("\n")
    return out


class Registry:
    def __init__(self) -> None:
        self.checks: dict[str, CheckSpec] = {}
        self.errors: list[PluginError] = []
        self._current_source = "<unknown>"

    # -- registration -------------------------------------------------------------------------
    def add(self, spec: CheckSpec) -> None:
        if not _ID_RE.match(spec.id):
            self.errors.append(
                PluginError(spec.source, f"check id {spec.id!r} must look like ABC123; skipped")
            )
            return
        if spec.id in self.checks:
            other = self.checks[spec.id]
            self.errors.append(
                PluginError(
                    spec.source,
                    f"duplicate check id {spec.id} (already defined by {other.source}); second definition skipped",
                )
            )
            return
        self.checks[spec.id] = spec

    # -- loading ------------------------------------------------------------------------------
    def _collect(self, source: str, loader: Callable[[], Any]) -> None:
        before = len(_PENDING)
        try:
            loader()
        except Exception as exc:  # a broken plugin must never stop the run
            tb = traceback.extract_tb(exc.__traceback__)
            where = f" ({tb[-1].filename}:{tb[-1].lineno})" if tb else ""
            self.errors.append(
                PluginError(source, f"failed to load: {type(exc).__name__}: {exc}{where}; skipped")
            )
            del _PENDING[before:]
            return
        new = _PENDING[before:]
        del _PENDING[before:]
        for spec in new:
            self.add(spec)

    def load_builtin(self) -> None:
        import chom_validate.checks as pkg

        for mod in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
            if mod.name.startswith("_"):
                continue
            name = f"{pkg.__name__}.{mod.name}"
            self._collect(f"built-in {mod.name}", functools.partial(_import_fresh, name))

    def load_entry_points(self) -> None:
        for ep in entry_points(group="chom_validate.checks"):
            self._collect(f"entry point {ep.name} ({ep.value})", ep.load)

    def load_dir(self, directory: Path) -> None:
        if not directory.is_dir():
            self.errors.append(PluginError(str(directory), "--checks-dir is not a directory"))
            return
        for path in sorted(directory.glob("*.py")):
            if path.name.startswith("_"):
                continue
            self._collect(str(path), functools.partial(_import_path, path))

    # -- queries ------------------------------------------------------------------------------
    def select(
        self, profile: str = "certified", categories: list[str] | None = None, ids: list[str] | None = None
    ) -> list[CheckSpec]:
        out = []
        for spec in sorted(self.checks.values(), key=lambda s: s.id):
            if not spec.in_profile(profile):
                continue
            if categories and spec.category not in categories:
                continue
            if ids and spec.id not in ids:
                continue
            out.append(spec)
        return out


_PENDING: list[CheckSpec] = []


def _import_fresh(name: str) -> None:
    if name in sys.modules:
        importlib.reload(sys.modules[name])
    else:
        importlib.import_module(name)


def _import_path(path: Path) -> None:
    modname = f"chom_validate_plugin_{path.stem}_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(modname, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    spec.loader.exec_module(module)


_CONTEXT_NAMES = frozenset({"", "ScanContext", "Context", "Any", "object"})


def resolve_inputs(func: Callable[..., Any]) -> tuple[tuple[str, Provider | None], ...]:
    """The check's parameters with the provider of each annotated type (None: the scan context).

    Each annotation is evaluated in the check's module when the check is registered (names
    imported at its top resolve). One that names no provided type, or does not resolve (a
    ``ScanContext`` imported only under TYPE_CHECKING), means the scan context, as an
    unannotated parameter does: the signature older and third-party checks use.
    """
    out: list[tuple[str, Provider | None]] = []
    for name, param in inspect.signature(func).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        ann = param.annotation
        if ann is param.empty or (isinstance(ann, str) and ann.strip("'\"") in _CONTEXT_NAMES):
            out.append((name, None))
            continue
        if isinstance(ann, str):
            try:
                ann = eval(ann, getattr(func, "__globals__", {}))
            except Exception:
                ann = None
        out.append((name, provider_for(ann)))
    return tuple(out) or (("ctx", None),)


def check(
    id: str,
    name: str,
    *,
    category: str,
    severity: str | Severity,
    pillar: str,
    profile: str = "baseline",
    commands: list[list[str]] | tuple[tuple[str, ...], ...] = (),
    paths: list[str] | tuple[str, ...] = (),
    needs: list[str] | tuple[str, ...] = (),
    http: HttpPlanner | None = None,
) -> Callable[[CheckFunc], CheckFunc]:
    """Register a check.

    ``commands`` lists allow-listed argv a check wants from live targets; ``paths`` lists extra host
    paths/globs to collect. The engine gathers these from all enabled checks before collecting, so
    a remote host is read in a number of round trips that does not grow with the number of checks.
    ``needs`` names background probes to start when the scan starts (``"shellcheck"``: see
    ``chom_validate.probes.shellcheck``). ``http`` plans the GETs the check reads with
    ``ctx.http()``; the engine fetches them before the checks. Typed inputs add the commands and
    probes their providers read.
    """
    if pillar not in PILLARS:
        raise ValueError(f"{id}: unknown pillar {pillar!r} (one of {', '.join(PILLARS)})")
    if profile not in PROFILES:
        raise ValueError(f"{id}: unknown profile {profile!r} (one of {', '.join(PROFILES)})")

    def deco(func: CheckFunc) -> CheckFunc:
        inputs = resolve_inputs(func)
        providers = [p for _, p in inputs if p is not None]
        all_commands = [tuple(c) for c in commands] + [c for p in providers for c in p.commands]
        all_needs = [*needs, *(n for p in providers for n in p.needs)]
        spec = CheckSpec(
            id=id,
            name=name,
            category=category,
            severity=Severity(severity),
            pillar=pillar,
            profile=profile,
            func=func,
            source=f"{func.__module__}.{func.__name__}",
            commands=tuple(dict.fromkeys(all_commands)),
            paths=tuple(paths),
            needs=tuple(dict.fromkeys(all_needs)),
            doc=parse_doc(func.__doc__),
            http=http,
            inputs=inputs,
        )
        _PENDING.append(spec)
        func.__chom_check__ = spec  # type: ignore[attr-defined]
        return func

    return deco


def load_registry(checks_dirs: list[Path] | None = None, entry_points_enabled: bool = True) -> Registry:
    reg = Registry()
    reg.load_builtin()
    if entry_points_enabled:
        reg.load_entry_points()
    for d in checks_dirs or []:
        reg.load_dir(d)
    return reg
