"""`list` and `explain` without typer, the engine or pydantic: they print registry metadata only.

``typer`` (which builds pydantic adapters for every option) and rendering a rich table of ~160
rows each cost about as much as the 0.3 s `list` may take, so:

- :func:`fast_main` answers ``chom-validate list ...`` itself when the arguments are exactly the
  forms `list` accepts (``--category X``/``--category=X``, ``--profile``, ``--checks-dir``,
  ``--no-color``); anything else (``--help``, an unknown or incomplete option) returns False and
  typer handles the command as before. Both paths call :func:`run_list`.
- the metadata comes from :mod:`check_index` (current or rebuilt), and the rendered listing is
  kept next to it, keyed by the index content, the arguments and every console property rich
  renders with (width, colour system, terminal or not, encoding); each print is stored and written
  separately through the console's redacting writer, exactly as rich would have written it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from . import check_index

Fail = Callable[[str], NoReturn]
RENDER_FORMAT = 1


def _fail(message: str) -> NoReturn:
    """`app.fail` without typer: same line, same exit code."""
    sys.stderr.write(f"chom-validate: error: {message}\n")
    raise SystemExit(2)


def load(checks_dir: list[Path], fail: Fail, category: list[str] | None = None) -> check_index.CheckIndex:
    """The registry's metadata (cached index, else every check loaded); ``--category`` values are
    checked before any check is loaded, as they always were."""
    idx = check_index.cached(checks_dir)
    if category:
        if idx is not None:
            categories = idx.categories
        else:
            from ..registry import CATEGORIES as categories
        bad = [c for c in category if c not in categories]
        if bad:
            fail(f"--category {bad[0]!r}: one of {', '.join(categories)}")
    if idx is not None:
        return idx
    for d in checks_dir:  # = common.build_registry, without importing the scan plumbing
        if not d.is_dir():
            fail(f"--checks-dir {d}: not a directory")
    return check_index.build(checks_dir)


_VOLATILE_ENV = frozenset({"PWD", "OLDPWD", "SHLVL", "_"})  # never read by rich


def _terminal() -> list[Any]:
    """What rich reads of the three standard streams: tty or not, size, encoding."""
    out: list[Any] = [getattr(sys.stdout, "encoding", None)]
    for fd in (0, 1, 2):
        try:
            tty = os.isatty(fd)
        except OSError:
            tty = None
        try:
            size = list(os.get_terminal_size(fd))
        except (OSError, ValueError):
            size = None
        out.append([tty, size])
    return out


def _render_key(idx: check_index.CheckIndex, args: list[Any]) -> str | None:
    """The rendered listing's key: the index content, the arguments, rich's build and everything
    rich decides its layout and colours from (the environment, the standard streams). Computed
    without importing rich, so that a cached listing costs a file read."""
    if sys.platform == "win32" or not check_index.enabled():
        return None  # rich writes legacy Windows consoles through the win32 API, not as text
    import importlib.util

    spec = importlib.util.find_spec("rich")
    if spec is None or not spec.submodule_search_locations:
        return None
    rich_dir = spec.submodule_search_locations[0]
    payload = [
        RENDER_FORMAT,
        idx.digest,
        args,
        [check_index.stamp(os.path.join(rich_dir, f)) for f in ("console.py", "table.py", "__init__.py")],
        sorted((k, v) for k, v in os.environ.items() if k not in _VOLATILE_ENV),
        _terminal(),
    ]
    return hashlib.sha256(json.dumps(payload).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _render_path(key: str) -> Path:
    return check_index.cache_root() / f"render-{key}.json"


def _emit(no_color: bool, key: str | None, render: Callable[[Callable[..., None]], None]) -> None:
    """Run ``render(print)`` on the terminal console; each print's text is redacted and written as
    rich's console would write it, and kept: the next identical listing is written from the file."""
    out = sys.stdout
    if key is not None:
        try:
            parts = json.loads(_render_path(key).read_text(encoding="utf-8"))
            if isinstance(parts, list) and all(isinstance(p, str) for p in parts):
                for text in parts:
                    out.write(text)
                    out.flush()
                return
        except (OSError, ValueError):
            pass
    from ..outputs.console import make_console
    from ..redact import redact

    console = make_console(no_color=no_color)
    parts = []

    def emit(*objects: Any, **kw: Any) -> None:
        with console.capture() as cap:
            console.print(*objects, **kw)
        text = redact(cap.get())  # = what console.file (a RedactingWriter on stdout) writes
        parts.append(text)
        out.write(text)
        out.flush()

    render(emit)
    if key is not None:
        _store(_render_path(key), parts)


def _store(path: Path, data: Any) -> None:
    import tempfile

    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)
        tmp = None
    except OSError:
        pass
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def run_list(category: list[str], profile: str, checks_dir: list[Path], no_color: bool, fail: Fail) -> None:
    reg = load(checks_dir, fail, category)
    specs = reg.select(profile, category or None)  # an unknown profile raises here, before output

    def render(emit: Callable[..., None]) -> None:
        from rich.table import Table

        t = Table(title=f"chom-validate checks (profile {profile})", title_justify="left")
        for col in ("ID", "Name", "Category", "Severity", "Pillar", "Profile", "Summary"):
            t.add_column(col)
        for s in specs:
            t.add_row(s.id, s.name, s.category, s.severity, s.pillar, s.profile, s.title)
        emit(t)
        emit(f"{len(specs)} checks")
        for source, reason in reg.errors:
            emit(f"plugin problem: {source}: {reason}", style="magenta")

    _emit(no_color, _render_key(reg, ["list", profile, category, no_color]), render)


def run_explain(check_id: str, checks_dir: list[Path], no_color: bool, fail: Fail) -> None:
    from ..outputs.console import make_console

    reg = load(checks_dir, fail)
    spec = reg.checks.get(check_id.upper())
    if spec is None:
        close = [c for c in reg.checks if c.startswith(check_id.upper()[:3])][:8]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        fail(f"no check with id {check_id!r}{hint}; `chom-validate list` shows them all")
    console = make_console(no_color=no_color)
    console.print(f"{spec.id} {spec.name}: {spec.title}", style="bold")
    console.print(
        f"category {reg.categories.get(spec.category, spec.category)} | severity {spec.severity} | "
        f"pillar {spec.pillar} | profile {spec.profile}"
    )
    for section in reg.doc_sections:
        body = spec.doc.get(section)
        if body:
            console.print()
            console.print(section, style="bold underline")
            console.print(body, markup=False)


_LIST_OPTIONS = {"--category": "category", "--profile": "profile", "--checks-dir": "checks_dir"}


def parse_list_args(argv: list[str]) -> dict[str, Any] | None:
    """`list`'s options exactly as click would bind them, or None for anything else (typer decides)."""
    out: dict[str, Any] = {"category": [], "profile": "certified", "checks_dir": [], "no_color": False}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--no-color":
            out["no_color"] = True
            i += 1
            continue
        name, eq, value = arg.partition("=")
        if name not in _LIST_OPTIONS:
            return None
        if not eq:
            if i + 1 >= len(argv):
                return None  # click: "Option requires an argument"
            value = argv[i + 1]
            i += 1
        i += 1
        if not value or value.startswith("-"):
            return None  # an empty value or one that looks like an option: click's rules apply
        key = _LIST_OPTIONS[name]
        if key == "profile":
            out["profile"] = value
        elif key == "category":
            out["category"].append(value)
        else:
            out["checks_dir"].append(Path(value))
    return out


def fast_main(argv: list[str]) -> bool:
    """Answer `chom-validate list ...` without typer when the arguments allow; True if answered."""
    if not argv or argv[0] != "list":
        return False
    opts = parse_list_args(argv[1:])
    if opts is None:
        return False
    run_list(fail=_fail, **opts)
    return True
