"""Which allow-listed commands a check really reads: its declaration plus what its facts consume.

A check declares ``@check(commands=...)``, its typed inputs add their providers' commands, but a
check that calls a fact builder (``backup_model(ctx)``, ``host_model(ctx)``) also reads what that
builder reads (``crontab -l``, ``ss -ltnp``...). Without it, ``--only BAK021`` on a host never
collects ``crontab -l`` and the check judges a model without the host's crontab.

The engine plans collection before any check runs, so the commands are found statically: the
functions a check can reach (the globals its code names, the attributes it reads off modules it
imports, the methods of classes it names, its typed inputs' builders, transitively, limited to
chom_validate and the check's own module) and every argv constant they name (a module-level tuple
or list such as ``CRONTAB_CMD = ["crontab", "-l"]``, nested tables such as ``((UFW, "ufw"), ...)``,
or a literal in the code) that the allow-list accepts. A constant that is named but not run costs one
read-only command; one that is run but not found would cost a wrong result, and
tests/test_command_plan.py runs every check alone against a host to prove none is missed.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Iterator
from typing import Any

from .registry import CheckSpec
from .targets.base import is_allowed

Argv = tuple[str, ...]
_PACKAGE = "chom_validate"


def _codes(code: types.CodeType) -> Iterator[types.CodeType]:
    """A code object and every nested one (lambdas, comprehensions, inner functions)."""
    yield code
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            yield from _codes(c)


def _ours(obj: Any, home: str) -> bool:
    mod = getattr(obj, "__module__", None) or ""
    return mod in (home, _PACKAGE) or mod.startswith(_PACKAGE + ".")


def _unwrap(obj: Any) -> Any:
    while isinstance(obj, functools.partial):
        obj = obj.func
    return getattr(obj, "__wrapped__", obj)


def _functions_of(obj: Any, home: str) -> Iterator[types.FunctionType]:
    obj = _unwrap(obj)
    if isinstance(obj, types.FunctionType):
        if _ours(obj, home):
            yield obj
    elif isinstance(obj, type) and _ours(obj, home):
        for v in vars(obj).values():
            v = v.__func__ if isinstance(v, staticmethod | classmethod) else v
            v = v.fget if isinstance(v, property) else v
            if isinstance(v, types.FunctionType):
                yield v


@functools.cache
def _allowed(argv: Argv) -> bool:
    return is_allowed(list(argv))


def _argv_consts(value: Any, depth: int = 0) -> Iterator[Argv]:
    """Allow-listed argv in a constant: the constant itself, or inside a table of them."""
    if isinstance(value, list | tuple) and value:
        if all(isinstance(a, str) for a in value):
            if _allowed(tuple(value)):
                yield tuple(value)
        elif depth < 2:
            for v in value:
                yield from _argv_consts(v, depth + 1)


# Per function, once: the argv constants it names and the functions it can call.
_DIRECT: dict[types.FunctionType, tuple[frozenset[Argv], tuple[types.FunctionType, ...]]] = {}


def _direct(fn: types.FunctionType, home: str) -> tuple[frozenset[Argv], tuple[types.FunctionType, ...]]:
    got = _DIRECT.get(fn)
    if got is not None:
        return got
    g = fn.__globals__
    names: set[str] = set()
    found: set[Argv] = set()
    for code in _codes(fn.__code__):
        names.update(code.co_names)
        for c in code.co_consts:
            if isinstance(c, tuple):
                found.update(_argv_consts(c))
    values = [g[n] for n in names if n in g]
    # `hosts.host_model(ctx)`: attributes read off an imported module of ours
    for m in [v for v in values if isinstance(v, types.ModuleType) and v.__name__.startswith(_PACKAGE)]:
        values += [getattr(m, n) for n in names if hasattr(m, n)]
    callees: list[types.FunctionType] = []
    for v in values:
        if isinstance(v, list | tuple):
            found.update(_argv_consts(v))
        else:
            callees.extend(_functions_of(v, home))
    got = (frozenset(found), tuple(callees))
    _DIRECT[fn] = got
    return got


def _walk(roots: list[Callable[..., Any]], home: str) -> set[Argv]:
    found: set[Argv] = set()
    seen: set[types.FunctionType] = set()
    todo: list[types.FunctionType] = [f for r in roots for f in _functions_of(r, home)]
    while todo:
        fn = todo.pop()
        if fn in seen:
            continue
        seen.add(fn)
        consts, callees = _direct(fn, home)
        found |= consts
        todo.extend(c for c in callees if c not in seen)
    return found


@functools.cache
def _derived(roots: tuple[Callable[..., Any], ...]) -> tuple[Argv, ...]:
    return tuple(sorted(_walk(list(roots), roots[0].__module__)))


def check_commands(spec: CheckSpec) -> tuple[Argv, ...]:
    """Every allow-listed argv the check may read: declared, from its inputs, and from its facts."""
    roots = (spec.func, *(p.build for _, p in spec.inputs if p is not None))
    return tuple(dict.fromkeys((*spec.commands, *_derived(roots))))


__all__ = ["check_commands"]
