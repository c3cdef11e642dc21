"""One case file per check (tests/cases/<ID>.yaml), all run by one parametrized test.

A case file holds a bad variant shaped like a real defect and the correct code beside it:

    check: DEP001
    bad:                      # the check must fail, at least at every listed path:line
      files: {deploy.sh: "..."}
      fail: [deploy.sh:1]
    good:                     # the same check must pass here and fail nowhere
      files: {deploy.sh: "..."}

A variant is a local tree (``files:``, optional ``modes: {path: 0o600}`` and ``config:`` text for
chom-validate.yaml) or, for checks that need a host, a host capture (``host:`` with ``files:``,
``modes:`` and ``commands: [{argv: [...], stdout: "...", returncode: 0}]``). A host capture is
written as a real snapshot with the snapshot writer and replayed through SnapshotTarget, the same
path ``--snapshot`` takes. ``fail`` entries are ``path:line`` (a file) or ``path`` (any line) or
``$ argv`` (a command's evidence). Checks whose defect is "this could not be looked at" (TGT*)
report ``error``, not ``fail``: their bad variant says ``expect: error`` and the listed locations
must then be among the errors.

Checks with run options (``--probe-http``, ``--prometheus-url``) take ``options: {probe_http: [...]}``
(the keys of RunOptions.extra); ``http: {"/health": 200}`` serves those paths (anything else 404)
from a real HTTP server on loopback for the variant, and ``{http}`` in an option is its base URL.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from chom_validate.config import Config, load_config
from chom_validate.engine import RunOptions, TargetSpec, scan
from chom_validate.findings import Finding, Status
from chom_validate.registry import load_registry
from chom_validate.targets.base import CollectedFiles, CommandResult, FileEntry, TargetStats
from chom_validate.targets.local import LocalTree
from chom_validate.targets.snapshot import SnapshotTarget, write_snapshot

from .conftest import FIXED_NOW, loopback_http

CASES = Path(__file__).resolve().parent / "cases"
_REGISTRY = load_registry()
_LOC = re.compile(r"^(?P<path>[^:$][^:]*)(?::(?P<line>\d+))?$")


def _case_files() -> list[Path]:
    return sorted(CASES.glob("*.yaml"))


def _builtin_ids() -> set[str]:
    return {s.id for s in _REGISTRY.checks.values() if s.source.startswith("chom_validate.checks.")}


@dataclass
class _Capture(CollectedFiles):
    """A host capture spelled out in a case file; only ever fed to the snapshot writer."""

    name: str
    files_in: dict[str, str]
    modes: dict[str, int]
    commands: dict[tuple[str, ...], CommandResult]
    kind: str = "ssh"
    capabilities: frozenset[str] = frozenset({"files", "commands", "live"})
    problems: list[Any] = field(default_factory=list)
    stats: TargetStats = field(default_factory=TargetStats)

    def __post_init__(self) -> None:
        self._files = {p.lstrip("/"): t.encode() for p, t in self.files_in.items()}
        self._entries = {
            p: FileEntry(p, len(b), self.modes.get("/" + p, self.modes.get(p, 0o644)))
            for p, b in self._files.items()
        }

    def run(self, argv: list[str]) -> CommandResult:
        return self.commands.get(tuple(argv)) or CommandResult(
            argv=list(argv), returncode=127, stdout="", stderr="not installed", missing=True
        )

    def prepare(self, paths: list[str], commands: list[list[str]]) -> None:
        return None

    def close(self) -> None:
        return None


def _modes(spec: dict[str, Any]) -> dict[str, int]:
    return {p: (int(m, 8) if isinstance(m, str) else int(m)) for p, m in (spec.get("modes") or {}).items()}


@contextlib.contextmanager
def _http(routes: dict[str, Any] | None) -> Iterator[str]:
    """A loopback HTTP server answering each route with its status code; yields its base URL."""
    if not routes:
        yield ""
        return
    codes = {str(k): int(v) for k, v in routes.items()}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(codes.get(self.path, 404))
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    with loopback_http(Handler) as base:
        yield base


def _options(spec: dict[str, Any], base: str) -> dict[str, Any]:
    def sub(v: Any) -> Any:
        if isinstance(v, list):
            return [sub(x) for x in v]
        return v.replace("{http}", base) if isinstance(v, str) else v

    return {str(k): sub(v) for k, v in (spec.get("options") or {}).items()}


def _run_variant(check_id: str, spec: dict[str, Any], tmp: Path) -> list[Finding]:
    with _http(spec.get("http")) as base:
        return _scan_variant(check_id, spec, tmp, _options(spec, base))


def _scan_variant(check_id: str, spec: dict[str, Any], tmp: Path, extra: dict[str, Any]) -> list[Finding]:
    cfg = Config()
    if spec.get("config"):
        cfg_path = tmp / "chom-validate.yaml"
        cfg_path.write_text(spec["config"])
        cfg = load_config(cfg_path)
    opts = RunOptions(
        profile="certified", only=[check_id], now=dt.datetime.fromisoformat(FIXED_NOW), extra=extra
    )
    if "host" in spec:
        host = spec["host"]
        cmds = {
            tuple(c["argv"]): CommandResult(
                argv=list(c["argv"]),
                returncode=int(c.get("returncode", 0)),
                stdout=str(c.get("stdout", "")),
                stderr=str(c.get("stderr", "")),
                missing=bool(c.get("missing", False)),
            )
            for c in host.get("commands") or []
        }
        cap = _Capture(str(host.get("name", "casehost")), dict(host.get("files") or {}), _modes(host), cmds)
        snap = tmp / "capture.tar.gz"
        write_snapshot(cap, snap, paths=[], commands=[list(k) for k in cmds])
        targets = [TargetSpec(cap.name, "snapshot", lambda: SnapshotTarget(snap))]
    else:
        root = tmp / "tree"
        root.mkdir()
        for rel, text in (spec.get("files") or {}).items():
            p = root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
        for rel, mode in _modes(spec).items():
            os.chmod(root / rel, mode)
        targets = [TargetSpec(str(root), "local", lambda: LocalTree(root, max_file_size=cfg.max_file_size))]
    report = scan(targets, _REGISTRY, cfg, opts)
    return [f for f in report.findings if f.check_id == check_id]


def _locations(f: Finding) -> Iterator[str]:
    for ev in f.evidence:
        if ev.path:
            yield ev.path
            if ev.line:
                yield f"{ev.path}:{ev.line}"
        if ev.command:
            yield "$ " + " ".join(ev.command)


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path.name}: not a mapping"
    assert data.get("check") == path.stem, f"{path.name}: `check:` must be {path.stem}"
    assert path.stem in _REGISTRY.checks, f"{path.name}: no such check"
    for variant in ("bad", "good"):
        assert isinstance(data.get(variant), dict), f"{path.name}: needs a `{variant}` variant"
    return data


@pytest.mark.parametrize("case", _case_files(), ids=lambda p: p.stem)
def test_case(case: Path, tmp_path: Path) -> None:
    data = _load(case)
    check_id = data["check"]

    (tmp_path / "bad").mkdir()
    bad = _run_variant(check_id, data["bad"], tmp_path / "bad")
    expect = Status(data["bad"].get("expect", "fail"))
    assert expect in (Status.FAIL, Status.ERROR), f"{case.name}: `expect:` is fail or error"
    failing = [f for f in bad if f.status == expect]
    assert failing, f"{check_id} bad variant: no {expect.value}; got {[(f.status.value, f.message) for f in bad]}"
    seen = {loc for f in failing for loc in _locations(f)}
    missing = [loc for loc in data["bad"].get("fail") or [] if loc not in seen]
    assert not missing, f"{check_id} bad variant: expected failures at {missing}; failed at {sorted(seen)}"

    (tmp_path / "good").mkdir()
    good = _run_variant(check_id, data["good"], tmp_path / "good")
    wrong = [f"{f.status.value}: {f.message}" for f in good if f.status in (Status.FAIL, Status.ERROR)]
    assert not wrong, f"{check_id} good variant must not fail: {wrong}"
    assert any(f.status == Status.PASS for f in good), (
        f"{check_id} good variant: no pass (a check must look and say so); got "
        f"{[(f.status.value, f.message) for f in good]}"
    )


def test_every_builtin_check_has_a_case_file() -> None:
    have = {p.stem for p in _case_files()}
    missing = sorted(_builtin_ids() - have)
    assert not missing, f"{len(missing)} built-in checks have no tests/cases/<ID>.yaml: {missing}"
