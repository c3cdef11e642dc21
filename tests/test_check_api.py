"""The check API: checks do no I/O, declare their inputs, and the engine resolves them first."""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import http.server
from collections.abc import Iterator
from pathlib import Path

import pytest

from chom_validate.api import CommandResult, Context, HttpGet
from chom_validate.config import Config
from chom_validate.engine import RunOptions, TargetSpec, scan
from chom_validate.registry import load_registry
from chom_validate.targets.base import CollectedFiles, FileEntry, TargetStats
from chom_validate.targets.local import LocalTree

from .conftest import loopback_http

CHECKS = Path(__file__).resolve().parents[1] / "checks"
NOW = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)
_FORBIDDEN_MODULES = ("chom_validate.engine", "chom_validate.targets", "chom_validate.redact")
_FORBIDDEN_STDLIB = ("subprocess", "urllib", "socket", "http.client", "requests")


def _imports(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module


@pytest.mark.parametrize("path", sorted(CHECKS.glob("*.py")), ids=lambda p: p.name)
def test_check_modules_do_no_io(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = [
        m
        for m in _imports(tree)
        if m.startswith(_FORBIDDEN_MODULES) or m.split(".")[0] in _FORBIDDEN_STDLIB or m in _FORBIDDEN_STDLIB
    ]
    assert not bad, f"{path.name} imports {bad}: checks read probe results through chom_validate.api"
    reached = [
        f"{path.name}:{n.lineno} ctx.{n.attr}"
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute)
        and n.attr in ("run", "target")
        and isinstance(n.value, ast.Name)
        and n.value.id == "ctx"
    ]
    assert not reached, reached


# -- a host target with commands, in memory (counts what the engine asks of it) ---------------------


class FakeHost(CollectedFiles):
    name = "web1"
    kind = "snapshot"
    capabilities = frozenset({"files", "commands", "live"})

    def __init__(self, files: dict[str, tuple[bytes, int]], outputs: dict[tuple[str, ...], str]) -> None:
        self._files = {p: b for p, (b, _) in files.items()}
        self._entries = {p: FileEntry(p, len(b), mode) for p, (b, mode) in files.items()}
        self.problems = []
        self.stats = TargetStats()
        self.outputs = outputs
        self.ran: list[tuple[str, ...]] = []
        self.checks_started = False
        self.ran_during_checks: list[tuple[str, ...]] = []

    def run(self, argv: list[str]) -> CommandResult:
        self.ran.append(tuple(argv))
        if self.checks_started:
            self.ran_during_checks.append(tuple(argv))
        out = self.outputs.get(tuple(argv))
        if out is None:
            return CommandResult(list(argv), 127, "", "not found", missing=True)
        return CommandResult(list(argv), 0, out)

    def prepare(self, paths: list[str], commands: list[list[str]]) -> None:
        return None

    def close(self) -> None:
        return None


PLUGIN = '''
from __future__ import annotations

from typing import TYPE_CHECKING

from chom_validate.api import Context
from chom_validate.facts.inputs import CommandOutputs, HostFiles, ShellcheckFacts, Writes
from chom_validate.findings import Result
from chom_validate.registry import check


@check("ZZZ001", "plain-ctx", category="deploy", severity="low", pillar="operations")
def plain(ctx):
    """Third-party signature: one untyped context parameter."""
    yield Result.passed(f"saw {ctx.name} ({ctx.kind})")


@check("ZZZ002", "typed-writes", category="deploy", severity="low", pillar="operations")
def typed_writes(writes: Writes):
    """A typed input."""
    yield Result.passed(f"{len(writes)} writes")


@check("ZZZ003", "live-files", category="secrets", severity="low", pillar="security")
def live_files(ctx: Context, host_files: HostFiles):
    """A live-only input."""
    entry = host_files.stat("etc/app.env")
    yield Result.passed(f"mode {entry.mode:04o}" if entry else "not collected")


@check("ZZZ004", "outputs", category="network", severity="low", pillar="security",
       commands=[["ss", "-ltnp"]])
def outputs(ctx: Context, out: CommandOutputs):
    """Collected command outputs, and an undeclared command."""
    ss = out[("ss", "-ltnp")]
    other = ctx.command(["certbot", "certificates"])
    yield Result.passed(f"ss rc={ss.returncode} {ss.stdout.strip()}; certbot rc={other.returncode} {other.stderr}")


if TYPE_CHECKING:
    from chom_validate.engine import ScanContext as OldContext


@check("ZZZ006", "legacy-annotation", category="deploy", severity="low", pillar="operations")
def legacy(ctx: OldContext):
    """An annotation that only resolves under TYPE_CHECKING still means the context."""
    yield Result.passed(ctx.name)


@check("ZZZ005", "shellcheck-input", category="deploy", severity="low", pillar="code_quality")
def sc(facts: ShellcheckFacts):
    """An input that needs a background probe."""
    yield Result.passed("shellcheck ran" if facts.exe or facts.missing else "?")
'''


@pytest.fixture()
def plugin_registry(tmp_path: Path):  # type: ignore[no-untyped-def]
    d = tmp_path / "plugins"
    d.mkdir()
    (d / "zzz_checks.py").write_text(PLUGIN, encoding="utf-8")
    reg = load_registry([d], entry_points_enabled=False)
    assert not reg.errors, reg.errors
    return reg


def _messages(report, check_id: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(f.status.value, f.message) for f in report.findings if f.check_id == check_id]


def test_inputs_resolved_from_signatures(plugin_registry) -> None:  # type: ignore[no-untyped-def]
    specs = plugin_registry.checks
    assert [n for n, p in specs["ZZZ001"].inputs] == ["ctx"] and specs["ZZZ001"].inputs[0][1] is None
    assert specs["ZZZ002"].inputs[0][1] is not None and not specs["ZZZ002"].live_only
    assert specs["ZZZ003"].live_only and specs["ZZZ003"].inputs[0][1] is None
    assert "shellcheck" in specs["ZZZ005"].needs  # the provider's probe is started before checks
    assert specs["ZZZ004"].commands == (("ss", "-ltnp"),)
    assert specs["ZZZ006"].inputs == (("ctx", None),)


def test_empty_and_live_only_inputs_on_a_tree(tmp_path: Path, plugin_registry) -> None:  # type: ignore[no-untyped-def]
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "README.md").write_text("# nothing to deploy\n", encoding="utf-8")
    opts = RunOptions(profile="certified", only=["ZZZ001", "ZZZ002", "ZZZ003", "ZZZ004"], now=NOW)
    report = scan([TargetSpec("t", "local", lambda: LocalTree(tree))], plugin_registry, Config(), opts)
    ((status, msg),) = _messages(report, "ZZZ001")
    assert status == "pass" and msg.endswith("(local)")
    assert _messages(report, "ZZZ002") == [("not_applicable", "no script in the target writes a file")]
    for cid in ("ZZZ003", "ZZZ004"):  # live-only: skipped on a repository, never pass
        ((status, msg),) = _messages(report, cid)
        assert status == "not_applicable" and "not a live target" in msg


def test_commands_collected_before_checks_and_undeclared_refused(plugin_registry) -> None:  # type: ignore[no-untyped-def]
    host = FakeHost(
        {"etc/app.env": (b"DB_PASSWORD=x\n", 0o640)},
        {("ss", "-ltnp"): 'LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=1,fd=3))'},
    )
    reg = plugin_registry
    original = reg.checks["ZZZ001"].func

    def started(ctx):  # type: ignore[no-untyped-def]
        host.checks_started = True
        return original(ctx)

    reg.checks["ZZZ001"] = dataclasses.replace(reg.checks["ZZZ001"], func=started)
    opts = RunOptions(profile="certified", only=["ZZZ001", "ZZZ003", "ZZZ004"], now=NOW, jobs=1)
    report = scan([TargetSpec("web1", "snapshot", lambda: host)], reg, Config(), opts)
    assert host.ran == [("ss", "-ltnp")]  # once, the declared one only
    assert host.ran_during_checks == []
    assert _messages(report, "ZZZ003") == [("pass", "mode 0640")]
    ((status, msg),) = _messages(report, "ZZZ004")
    assert status == "pass" and "ss rc=0 LISTEN" in msg
    assert "certbot rc=125" in msg and "not collected" in msg  # undeclared: not run, said so


class _Health(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        _Health.hits.append(self.path)
        code = 200 if self.path == "/health" else 503
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        return None


def test_http_probe_runs_before_checks_once_per_url(tmp_path: Path) -> None:
    from chom_validate.probes.http import fetch, fetch_all

    with loopback_http(_Health) as base:
        ok = fetch(HttpGet(base + "/health", 5.0))
        assert ok.ok and ok.status == 200 and ok.body == b"ok" and ok.detail == "HTTP 200"
        bad = fetch(HttpGet(base + "/ready", 5.0))
        assert not bad.ok and bad.status == 503 and bad.detail == "HTTP 503"
        down = fetch(HttpGet("http://127.0.0.1:9/health", 2.0))
        assert down.status is None and down.detail.startswith("URLError: ")
        _Health.hits.clear()
        done: dict[HttpGet, object] = {}
        reqs = [HttpGet(base + "/health", 5.0)] * 3 + [HttpGet(base + "/ready", 5.0)]
        fetch_all(reqs, done)  # type: ignore[arg-type]
        fetch_all(reqs, done)  # type: ignore[arg-type]
        assert sorted(_Health.hits) == ["/health", "/ready"]  # deduplicated, never refetched


def test_context_protocol_is_what_the_engine_hands_in(tmp_path: Path) -> None:
    seen: list[object] = []
    reg = load_registry(entry_points_enabled=False)
    spec = reg.checks["TGT001"]
    reg.checks = {"TGT001": dataclasses.replace(spec, func=lambda ctx: (seen.append(ctx), iter(()))[1])}
    (tmp_path / "a.sh").write_text("#!/bin/sh\necho hi\n", encoding="utf-8")
    scan([TargetSpec("t", "local", lambda: LocalTree(tmp_path))], reg, Config(), RunOptions(now=NOW))
    (ctx,) = seen
    assert isinstance(ctx, Context)
    assert ctx.kind == "local" and "commands" not in ctx.capabilities and not ctx.live
    assert ctx.command(["ss", "-ltnp"]).missing  # a tree has no commands: answered without I/O
    assert not ctx.http(HttpGet("http://127.0.0.1:9/")).ok  # nothing planned: nothing fetched
    assert ctx.read_text("a.sh") == "#!/bin/sh\necho hi\n" and ctx.read_text("nope") is None


def test_severity_is_its_own_doc_section() -> None:
    from chom_validate.catalog import DOC_SECTIONS, REQUIRED_DOC_SECTIONS
    from chom_validate.registry import parse_doc

    doc = parse_doc("""Title.

    References
        https://example.org/
    Severity
        Medium: not an outage by itself.
    """)
    assert doc["References"] == "https://example.org/"
    assert doc["Severity"] == "Medium: not an outage by itself."
    assert "Severity" in DOC_SECTIONS and "Severity" not in REQUIRED_DOC_SECTIONS
