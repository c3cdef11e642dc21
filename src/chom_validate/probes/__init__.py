"""Probes: the I/O the engine does for checks before they run, so checks do none.

- **Commands**: the allow-listed argv checks declare (``@check(commands=)``) are collected while
  the target is prepared (``ScanContext.collect_commands``).
- **HTTP** (:mod:`.http`): GETs checks plan from their inputs (``@check(http=planner)``), fetched
  in parallel before the checks: runbook and health URLs, the Prometheus API.
- **Background** probes (:mod:`.shellcheck`): slow external analysers started when the scan starts
  (``@check(needs=[name])``) so they work while the Python checks run; the fact that reads one
  (``Context.probe(name)``) waits for its result.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

# name -> function building the probe's result from the scan context (may block: run off-thread)
Background = Callable[[Any], Callable[[], Any]]
_BACKGROUND: dict[str, Background] = {}
_BUILTIN = ("shellcheck",)  # modules of this package registering background probes
_LOCK = threading.Lock()
# name -> function starting the probe's slow part early, before the scan parses (no threads: the
# engine forks later); its return value is kept on the context and handed to the probe
Prestart = Callable[[Any], Any]
_PRESTART: dict[str, Prestart] = {}


def background(name: str) -> Callable[[Background], Background]:
    """Register background probe ``name``: ``fn(ctx)`` reads what it needs from the context (in the
    engine's thread) and returns the blocking work, run in a thread; its return value is the result."""

    def deco(fn: Background) -> Background:
        _BACKGROUND[name] = fn
        return fn

    return deco


def prestart(name: str) -> Callable[[Prestart], Prestart]:
    """Register an early start for background probe ``name``: ``fn(ctx)`` starts processes (never
    threads) and returns a handle that the probe's own function reads with :func:`started`."""

    def deco(fn: Prestart) -> Prestart:
        _PRESTART[name] = fn
        return fn

    return deco


def start_early(ctx: Any, names: list[str]) -> None:
    """Start what the named probes can start before parsing (each at most once per target)."""
    for name in names:
        _registered(name)
        fn = _PRESTART.get(name)
        key = f"{name}@started"
        if fn is None or key in ctx._probes:
            continue
        with contextlib.suppress(Exception):  # then the probe does all its work later, as before
            ctx._probes[key] = fn(ctx)


def started(ctx: Any, name: str) -> Any:
    """The handle :func:`start_early` kept for probe ``name``, or None."""
    return ctx._probes.get(f"{name}@started")


def _registered(name: str) -> Background | None:
    if name not in _BACKGROUND and name in _BUILTIN:
        importlib.import_module(f"{__name__}.{name}")
    return _BACKGROUND.get(name)


def _futures(ctx: Any) -> dict[str, Future[Any]]:
    futs: dict[str, Future[Any]] = ctx._probes
    return futs


def start_background(ctx: Any, names: list[str]) -> None:
    """Start the named probes for ``ctx`` in background threads (each at most once per target)."""
    for name in names:
        fn = _registered(name)
        if fn is None or name in _futures(ctx):
            continue
        with contextlib.suppress(Exception):  # then the result is built on first use
            work = fn(ctx)
            fut: Future[Any] = Future()

            def run(work: Callable[[], Any] = work, fut: Future[Any] = fut) -> None:
                try:
                    fut.set_result(work())
                except BaseException as exc:  # handed to whoever asks for the result
                    fut.set_exception(exc)

            _futures(ctx)[name] = fut
            threading.Thread(target=run, name=f"probe-{name}", daemon=True).start()


def result(ctx: Any, name: str) -> Any:
    """The probe's result (waits for a background run; runs it now when it was not started)."""
    with _LOCK:
        fut = _futures(ctx).get(name)
        if fut is None:
            fn = _registered(name)
            if fn is None:
                raise KeyError(f"no probe named {name!r}")
            fut = Future()
            try:
                fut.set_result(fn(ctx)())
            except Exception as exc:
                fut.set_exception(exc)
            _futures(ctx)[name] = fut
    return fut.result()
