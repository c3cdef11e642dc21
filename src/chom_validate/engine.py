"""The engine: plan collection, discover artifacts, run checks in isolation, score, gate.

Flow per run: every target is opened and prepared (collection is planned from what the enabled
checks declare, so remote round trips do not grow with the number of checks) and its artifacts
discovered; the probes run (declared command outputs read, planned HTTP GETs fetched in parallel,
background probes such as ShellCheck started); then every check runs against every target with
its typed inputs bound and the whole fleet visible for cross-host checks. Checks do no I/O of
their own (``chom_validate.api``). A check that raises gets an ``error`` result with the reason; one that yields
nothing gets an ``error`` too. Targets fail independently.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from . import __version__, probes
from .api import HttpGet, HttpResponse, RunOptions
from .artifacts import Artifact, ArtifactIndex, discover
from .artifacts.base import ParseAborted
from .command_plan import check_commands
from .config import Config
from .findings import Evidence, Finding, Result, Status
from .governance import govern
from .probes import http as http_probe
from .registry import CheckSpec, Registry
from .results import CheckMeta, CheckRun, PluginProblem, RunReport, TargetReport
from .scoring import compute_scores, evaluate_gate
from .targets.base import CommandResult, FileEntry, Target, TargetError, TargetProblem, is_allowed

ProgressFn = Callable[[str, str], None]  # (target name, message)


@dataclass
class TargetSpec:
    """A target to open lazily, so connection failures become per-target errors."""

    name: str
    kind: str
    open: Callable[[], Target]


@dataclass
class ScanContext:
    """What a check sees (``chom_validate.api.Context``): one target's artifacts, config, probe
    results, and the rest of the fleet. The target itself stays here: checks read what the engine
    collected and probed before they ran."""

    target: Target
    config: Config
    index: ArtifactIndex
    options: RunOptions
    fleet: dict[str, ScanContext] = field(default_factory=dict)
    _cache: dict[Any, Any] = field(default_factory=dict)
    _commands: dict[tuple[str, ...], CommandResult] = field(default_factory=dict)
    _http: dict[HttpGet, HttpResponse] = field(default_factory=dict)
    _probes: dict[str, Any] = field(default_factory=dict)  # name -> Future of a background probe

    @property
    def name(self) -> str:
        return self.target.name

    @property
    def kind(self) -> str:
        return self.target.kind

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset(self.target.capabilities)

    @property
    def live(self) -> bool:
        return "live" in self.target.capabilities

    @property
    def now(self) -> dt.datetime:
        return self.options.now or dt.datetime.now(dt.UTC)

    @property
    def problems(self) -> list[TargetProblem]:
        return list(self.target.problems)

    def artifacts(self, *kinds: str, host: str | None = None) -> list[Artifact]:
        return self.index.of(*kinds, host=host)

    def parsed(self, *kinds: str) -> list[tuple[Artifact, Any]]:
        """(artifact, model) for artifacts that parse; parse failures are reported once by TGT002."""
        out = []
        for a in self.index.of(*kinds):
            model = a.try_parsed()
            if model is not None:
                out.append((a, model))
        return out

    # -- probe results --------------------------------------------------------------------------
    def collect_commands(self, commands: list[list[str]]) -> None:
        """Read every declared command's output from the prepared target (once, before the checks)."""
        if "commands" not in self.target.capabilities:
            return
        for argv in commands:
            key = tuple(argv)
            if key not in self._commands and is_allowed(argv):
                self._commands[key] = self.target.run(list(argv))

    def command(self, argv: list[str] | tuple[str, ...]) -> CommandResult:
        """The output of an allow-listed command collected before the checks (``@check(commands=)``)."""
        key = tuple(argv)
        got = self._commands.get(key)
        if got is not None:
            return got
        if "commands" not in self.target.capabilities:
            return self.target.run(list(argv))  # trees answer "missing" without any I/O
        why = (
            "not in the allow-list"
            if not is_allowed(list(argv))
            else "not collected: no enabled check declares it (@check(commands=...))"
        )
        return CommandResult(argv=list(argv), returncode=125, stdout="", stderr=f"`{' '.join(argv)}` {why}")

    def commands(self) -> Mapping[tuple[str, ...], CommandResult]:
        return MappingProxyType(self._commands)

    def run(self, argv: list[str]) -> CommandResult:
        """Legacy accessor for third-party checks: a declared output, else the command run now."""
        key = tuple(argv)
        if key not in self._commands:
            if not is_allowed(argv):
                raise TargetError(f"command not in the allow-list: {' '.join(argv)}")
            self._commands[key] = self.target.run(list(argv))
        return self._commands[key]

    def http(self, request: HttpGet) -> HttpResponse:
        """The engine's answer to a GET a check planned (``@check(http=planner)``)."""
        got = self._http.get(request)
        if got is not None:
            return got
        why = "not probed: the check did not plan this request (@check(http=...))"
        return HttpResponse(request, error=why, error_type="NotProbed", reason=why)

    def probe(self, name: str) -> Any:
        """The result of background probe ``name`` (started before the checks when declared with
        ``needs=``; otherwise run now, by the engine, on first use)."""
        return probes.result(self, name)

    # -- the collected tree -----------------------------------------------------------------------
    def files(self) -> Iterator[FileEntry]:
        return self.target.files()

    def stat(self, path: str) -> FileEntry | None:
        return self.target.stat(path)

    def read_text(self, path: str) -> str | None:
        try:
            return self.target.read_text(path)
        except (UnicodeDecodeError, TargetError, OSError):
            return None

    def derived(self, key: Any, build: Callable[[], Any]) -> Any:
        """Memoise a model derived from several artifacts (firewall model, scrape topology...)."""
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def settings(self, domain: str) -> dict[str, Any]:
        return dict(getattr(self.config, domain, {}) or {})


# -- per-file parse budget -------------------------------------------------------------------------
#
# A parser that is not linear on some input (a 5 MB one-line script, a pathological rules file)
# must not stall the scan: every artifact is parsed up front under a budget and one that exceeds
# it gets a parse error naming the file (TGT002 reports it as an `error`; the domain checks skip it
# like any unparseable artifact). The budget is CPU time (ITIMER_PROF), so that the same file gets
# the same verdict on an idle and on a loaded machine; a wall-clock backstop (ITIMER_REAL, several
# times the budget) stops a parser that waits instead of computing. Both are signal timers: they
# interrupt Python code (the tree walks, the line layers) but not a single long C call; off the main
# thread (an embedding application) there is no budget.

PARSE_BUDGET_SECONDS = 10.0
WALL_BACKSTOP_FACTOR = 6.0


class ParseBudgetExceeded(ParseAborted):
    """Raised inside a parser that ran past the per-file budget."""


def _over_budget(budget: float, clock: str) -> Callable[[int, Any], None]:
    def handler(_sig: int, _frame: Any) -> None:
        raise ParseBudgetExceeded(
            f"parsing took more than the per-file budget ({budget:g} s of {clock}); not analysed"
        )

    return handler


def parse_all(index: ArtifactIndex, budget: float = PARSE_BUDGET_SECONDS) -> None:
    """Parse every artifact now (each under ``budget`` CPU seconds when on the main thread)."""
    timed = (
        budget > 0 and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    )
    if not timed:
        for art in index.artifacts:
            art.try_parsed()
        return
    old_prof = signal.signal(signal.SIGPROF, _over_budget(budget, "CPU time"))
    old_alrm = signal.signal(signal.SIGALRM, _over_budget(budget * WALL_BACKSTOP_FACTOR, "wall-clock time"))
    try:
        for art in index.artifacts:
            signal.setitimer(signal.ITIMER_PROF, budget)
            signal.setitimer(signal.ITIMER_REAL, budget * WALL_BACKSTOP_FACTOR)
            try:
                art.try_parsed()
            except ParseBudgetExceeded:  # fired between the parser's return and the reset
                pass
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0)
                signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        signal.signal(signal.SIGPROF, old_prof)
        signal.signal(signal.SIGALRM, old_alrm)


# -- checks on both cores --------------------------------------------------------------------------
#
# Checks are CPU-bound Python (the GIL rules out threads), and what they read is parsed once up
# front, so the engine forks one child after parsing: the child inherits every parsed model
# (copy-on-write, nothing pickled but the results), runs one share of the checks and sends its
# results back; the parent runs the rest. Results are merged in check-id order, so the findings
# are identical to a serial run (tests/test_parallel_scan.py). Checks that need a background fact
# (ShellCheck) stay in the parent, where that fact is produced.

# The document/monitoring families read other artifacts than the script/unit families: a split
# along that line keeps each side's derived models (ctx.derived) on one side.
_CHILD_CATEGORIES = frozenset({"monitoring", "dr", "incident", "topology", "network", "backup"})
MIN_ARTIFACTS_TO_FORK = 40


def _can_fork(options: RunOptions, ctx: ScanContext) -> bool:
    if options.extra.get("serial") or os.environ.get("CHOM_VALIDATE_SERIAL", "").strip() not in ("", "0"):
        return False
    return (
        hasattr(os, "fork")
        and (os.cpu_count() or 1) > 1
        and options.jobs > 1
        and len(ctx.index.artifacts) >= MIN_ARTIFACTS_TO_FORK
        and threading.active_count() == 1  # forking a process with other threads is unsafe
    )


def _split(specs: list[CheckSpec]) -> tuple[list[CheckSpec], list[CheckSpec]]:
    child = [s for s in specs if s.category in _CHILD_CATEGORIES and not s.needs]
    return [s for s in specs if s not in child], child


CheckOutcome = tuple[list[Result], float]


def _fork_checks(specs: list[CheckSpec], ctx: ScanContext) -> tuple[int, int] | None:
    """Start a child running ``specs``; (pid, read fd), or None when it could not start."""
    try:
        r, w = os.pipe()
        pid = os.fork()
    except OSError:
        return None
    if pid == 0:  # the child: run, send, leave without running the parent's cleanup
        code = 0
        try:
            os.close(r)
            out = {s.id: run_check(s, ctx) for s in specs}
            data = pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(w, "wb") as fh:
                fh.write(data)
        except BaseException:
            code = 1
        os._exit(code)
    os.close(w)
    return pid, r


def _join_checks(child: tuple[int, int] | None) -> dict[str, CheckOutcome] | None:
    if child is None:
        return None
    pid, r = child
    try:
        with os.fdopen(r, "rb") as fh:
            data = fh.read()
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            return None
        out: dict[str, CheckOutcome] = pickle.loads(data)
        return out
    except Exception:  # a lost child: its checks run here instead
        return None


def run_checks(specs: list[CheckSpec], ctx: ScanContext, options: RunOptions) -> dict[str, CheckOutcome]:
    """Every check's results and duration, keyed by check id (forked over two processes when it pays)."""
    parent, child_specs = _split(specs) if _can_fork(options, ctx) else (specs, [])
    child = _fork_checks(child_specs, ctx) if child_specs else None
    if child is None:
        parent, child_specs = specs, []
    probes.start_background(ctx, sorted({n for s in specs for n in s.needs}))  # after the fork: threads
    # Checks waiting on a background probe (ShellCheck) run last, so the others' Python work overlaps
    # the probe instead of waiting behind it; findings are merged in check-id order by the caller.
    out = {s.id: run_check(s, ctx) for s in sorted(parent, key=lambda s: bool(s.needs))}
    got = _join_checks(child)
    for s in child_specs:
        out[s.id] = got[s.id] if got is not None and s.id in got else run_check(s, ctx)
    return out


def _bind(spec: CheckSpec, ctx: ScanContext) -> tuple[list[Any], Result | None]:
    """The check's arguments, or the result that answers for it (live-only on a tree, empty input)."""
    args: list[Any] = []
    for _, prov in spec.inputs:
        if prov is None:
            args.append(ctx)
            continue
        if prov.live_only and "commands" not in ctx.target.capabilities:
            return [], Result.not_applicable(prov.not_live_reason, subject=ctx.name)
        value = ctx.derived(("input", prov.type), lambda prov=prov: prov.build(ctx))  # type: ignore[misc]
        if not value:
            reason = getattr(value, "empty_reason", None) or f"no {prov.type.__name__} in the target"
            return [], Result.not_applicable(str(reason))
        args.append(value)
    return args, None


def run_check(spec: CheckSpec, ctx: ScanContext) -> tuple[list[Result], float]:
    t0 = time.perf_counter()
    try:
        args, answer = _bind(spec, ctx)
        trusted = spec.source.startswith(_BUILTIN_SOURCE)
        results = [answer] if answer is not None else list(_guard(spec.func(*args), trusted))
        if not results:
            results = [
                Result.error(
                    f"check {spec.id} yielded no result (it must say pass, fail, not_applicable or error)"
                )
            ]
    except Exception as exc:  # a broken check must not stop the run
        results = [Result.error(f"check raised {type(exc).__name__}: {exc}")]
    return [_unjudged_if_assumed(r) for r in results], (time.perf_counter() - t0) * 1000.0


_ASSUMED = "rests on assumed value"


def _unjudged_if_assumed(r: Result) -> Result:
    """A pass or fail whose evidence line holds a template value nobody sets (facts/templates/
    marks it in the note) is not a verdict: not applicable, saying which value it rests on."""
    if r.status not in (Status.PASS, Status.FAIL):
        return r
    note = next((e.note for e in r.evidence if e.note and _ASSUMED in e.note), None)
    if note is None:
        return r
    why = note[note.index(_ASSUMED) :].split(";", 1)[0]
    return r.model_copy(
        update={"status": Status.NOT_APPLICABLE, "message": f"{r.message} (not judged: {why})"}
    )


_BUILTIN_SOURCE = "chom_validate.checks."


def _guard(it: Iterator[Result] | None, trusted: bool = True) -> Iterator[Result]:
    """The plugin boundary: a check yields Results; a third-party check's are validated again."""
    if it is None:
        return
    for r in it:
        if not isinstance(r, Result):
            raise TypeError(f"check yielded {type(r).__name__}, expected Result")
        yield r if trusted else _revalidated(r)


def _revalidated(r: Result) -> Result:
    """A plain, validated and redacted copy of ``r``, however it was built (``model_construct``,
    assigned fields, a subclass); a ValidationError makes the check's result an error."""
    raw = {n: r.__dict__[n] for n in Result.model_fields if n in r.__dict__}
    ev = raw.get("evidence")
    if isinstance(ev, list | tuple):
        raw["evidence"] = [dict(e.__dict__) if isinstance(e, Evidence) else e for e in ev]
    return Result.model_validate(raw)


def _to_findings(spec: CheckSpec, target: str, results: list[Result]) -> list[Finding]:
    """Place each result in its context.

    Every result is validated (and redacted) by then: a built-in check's when it was made
    (``Result.fail()`` and friends), a third-party check's again at the plugin boundary
    (:func:`_guard`). So the fields are copied over without a second validation
    (``model_construct``; a new evidence list and data dict, the Evidence objects shared).
    Every output redacts again when it renders.
    """
    out = []
    for r in results:
        f = Finding.model_construct(
            status=r.status,
            message=r.message,
            subject=r.subject,
            evidence=list(r.evidence),
            severity=r.severity,
            data=dict(r.data),
            check_id=spec.id,
            check_name=spec.name,
            category=spec.category,
            pillar=spec.pillar,
            target=target,
            effective_severity=r.severity or spec.severity,
            fingerprint="",
            suppressed=None,
        )
        f.fingerprint = f.compute_fingerprint()
        out.append(f)
    return out


def _run_http_probes(specs: list[CheckSpec], ctx: ScanContext, done: dict[HttpGet, HttpResponse]) -> None:
    """Fetch every GET the enabled checks plan for this target (in parallel), before they run."""
    wanted: list[HttpGet] = []
    for spec in specs:
        if spec.http is None:
            continue
        try:
            wanted.extend(spec.http(ctx))
        except Exception:  # the check then finds its answers missing and says so
            continue
    if wanted:
        http_probe.fetch_all(wanted, done)
        for req in wanted:
            if req in done:
                ctx._http[req] = done[req]


def plan(specs: list[CheckSpec], *, derive: bool = True) -> tuple[list[str], list[list[str]]]:
    """What the enabled checks need collected: paths/globs and allow-listed commands (deduplicated).

    A check's commands are its declared ones plus those the facts it calls read (command_plan.py):
    ``--check BAK021`` collects the ``crontab -l`` its backup model reads. ``derive=False`` (only
    local trees, which run no command) skips that analysis."""
    paths = sorted({p for s in specs for p in s.paths})
    commands = sorted({c for s in specs for c in (check_commands(s) if derive else s.commands)})
    return paths, [list(c) for c in commands]


def _open_target(
    ts: TargetSpec,
    cfg: Config,
    paths: list[str],
    commands: list[list[str]],
    progress: ProgressFn | None,
    focus: frozenset[str] | None = None,
) -> tuple[TargetReport, ScanContext | None, Target | None]:
    t0 = time.perf_counter()
    report = TargetReport(name=ts.name, kind=ts.kind)
    target: Target | None = None
    try:
        if progress:
            progress(ts.name, "connecting" if ts.kind == "ssh" else "reading")
        target = ts.open()
        if progress and ts.kind == "ssh":
            progress(ts.name, "collecting files and command outputs")
        target.prepare(paths, commands)
        if progress:
            st = target.stats
            progress(
                ts.name,
                f"collected {st.files} files, {st.commands} command outputs in {st.round_trips} round trip(s), "
                f"{st.seconds:.1f}s; discovering artifacts",
            )
        index = discover(
            target,
            include=cfg.include,
            exclude=cfg.exclude,
            host_globs=cfg.host_globs(),
            default_host=ts.name if ts.kind != "local" else None,
            focus=focus,
        )
    except Exception as exc:  # transport bugs or dropped connections: that target fails alone
        report.error = str(exc) if isinstance(exc, TargetError) else f"{type(exc).__name__}: {exc}"
        if progress:
            progress(ts.name, f"failed: {report.error}")
        if target is not None:
            _close(target)
        return report, None, None
    st = target.stats
    report.stats = {
        "files": st.files,
        "bytes": st.bytes,
        "round_trips": st.round_trips,
        "commands": st.commands,
        "collect_seconds": round(st.seconds, 3),
        "artifacts": len(index.artifacts),
        "skipped_files": index.skipped,
        "skipped_by_scope": index.out_of_scope,
        **({"unchanged_scripts_skipped": index.out_of_focus} if focus is not None else {}),
        "open_seconds": round(time.perf_counter() - t0, 3),
        **st.extra,
    }
    return report, ScanContext(target=target, config=cfg, index=index, options=RunOptions()), target


def render(ctx: ScanContext) -> None:
    """Templates rendered as the deploying scripts render them (facts/templates/), once per target."""
    try:
        from .facts.templates import render_templates

        render_templates(ctx)
    except Exception as exc:  # a rendering bug must not cost the target: checks see the raw templates
        ctx.index.problems.append(
            TargetProblem("(templates)", f"templates not rendered: {type(exc).__name__}: {exc}")
        )


def _close(target: Target) -> None:
    with contextlib.suppress(Exception):  # closing must never mask the result
        target.close()


def scan(
    targets: list[TargetSpec],
    registry: Registry,
    cfg: Config,
    options: RunOptions,
    progress: ProgressFn | None = None,
) -> RunReport:
    started = options.now or dt.datetime.now(dt.UTC)
    t_start = time.perf_counter()
    specs = [
        s
        for s in registry.select(options.profile, options.categories or None, options.only or None)
        if s.id not in cfg.disable
    ]
    # What the checks need, for every target; each host's own collection (defaults, its roles'
    # and its own collect.include/exclude) is already in its SSH parameters (targets/inventory.py).
    paths, commands = plan(specs, derive=any(ts.kind != "local" for ts in targets))

    # --changed-only: unchanged shell scripts that no whole-tree model needs are not analysed (the
    # per-script checks' findings about them would be filtered out anyway). "changed_only_full"
    # keeps the old full scan + filter, the reference the equivalence tests compare against.
    focus = None if options.extra.get("changed_only_full") else options.extra.get("changed_files")
    opened: list[tuple[TargetReport, ScanContext | None, Target | None]] = []
    with ThreadPoolExecutor(max_workers=max(1, min(options.jobs, len(targets) or 1))) as pool:
        opened = list(pool.map(lambda ts: _open_target(ts, cfg, paths, commands, progress, focus), targets))

    fleet = {rep.name: ctx for rep, ctx, _ in opened if ctx is not None}
    findings: list[Finding] = []
    http_done: dict[HttpGet, HttpResponse] = {}  # one GET per URL per run, whatever the targets
    try:
        for rep, ctx, _ in opened:
            if ctx is None:
                continue
            ctx.options = options
            ctx.fleet = fleet
            # ShellCheck (minutes of CPU on a big tree) starts now, on the discovered scripts, so that
            # it works while commands and HTTP probes are read and the Python side parses; processes
            # only (the engine forks later)
            probes.start_early(ctx, sorted({n for s in specs for n in s.needs}))
            ctx.collect_commands(commands)
            _run_http_probes(specs, ctx, http_done)
            if progress:
                progress(rep.name, f"running {len(specs)} checks")
            budgeted = any(s.id == "TGT002" for s in specs) or _can_fork(options, ctx)
            budget = float(options.extra.get("parse_budget", PARSE_BUDGET_SECONDS))
            if budgeted:  # scripts parse under the budget before rendering reads them
                parse_all(ctx.index, budget)
            render(ctx)
            if budgeted:  # and so do the rendered artifacts
                parse_all(ctx.index, budget)
            outcomes = run_checks(specs, ctx, options)
            target_findings: list[Finding] = []
            for spec in specs:
                results, ms = outcomes[spec.id]
                fs = _to_findings(spec, rep.name, results)
                target_findings.extend(fs)
                rep.check_runs.append(
                    CheckRun(
                        check_id=spec.id,
                        target=rep.name,
                        status=_aggregate(results),
                        duration_ms=round(ms, 3),
                        results=len(results),
                    )
                )
            findings.extend(target_findings)
    finally:
        for _, _, target in opened:
            if target is not None:
                _close(target)

    today = started.date()
    # Fingerprints, --changed-only, waivers (unless --no-waivers) and --baseline: governance.py.
    findings, notices = govern(findings, cfg, options, today, {rep.name: rep.kind for rep, _, _ in opened})
    out_of_focus = sum(ctx.index.out_of_focus for _, ctx, _ in opened if ctx is not None)
    if out_of_focus:
        notices.append(
            f"--changed-only: {out_of_focus} unchanged shell script(s) not analysed (no whole-tree model "
            "needs them); 'no script ...' not-applicable verdicts speak of the analysed scripts"
        )

    out_of_scope = sum(ctx.index.out_of_scope for _, ctx, _ in opened if ctx is not None)
    if out_of_scope:
        notices.append(
            f"skipped by scope: {out_of_scope} files (tests, fixtures, vendored code, lockfiles, examples; "
            "--include GLOB to analyse them)"
        )

    spec_map = {s.id: s for s in specs}
    for rep, _, _ in opened:
        rep.scores = compute_scores([f for f in findings if f.target == rep.name], spec_map, cfg.scoring)
    scores = compute_scores(findings, spec_map, cfg.scoring)
    target_errors = sum(1 for rep, _, _ in opened if rep.error)
    gate = evaluate_gate(findings, scores, cfg.scoring, options.profile, target_errors)
    summary = {s.value: sum(1 for f in findings if f.status == s) for s in Status}
    summary["waived"] = sum(1 for f in findings if f.suppressed and f.suppressed.kind == "waiver")
    summary["baselined"] = sum(1 for f in findings if f.suppressed and f.suppressed.kind == "baseline")
    summary["checks"] = len(specs)
    summary["targets"] = len(targets)
    summary["target_errors"] = target_errors
    finished = (
        started + dt.timedelta(seconds=time.perf_counter() - t_start)
        if options.now
        else dt.datetime.now(dt.UTC)
    )
    return RunReport(
        tool_version=__version__,
        started_at=started.isoformat(timespec="seconds"),
        finished_at=finished.isoformat(timespec="seconds"),
        profile=options.profile,
        project=cfg.project,
        environment=cfg.environment,
        config_source=cfg.source,
        targets=[rep for rep, _, _ in opened],
        findings=findings,
        checks=[
            CheckMeta(
                id=s.id,
                name=s.name,
                title=s.title,
                category=s.category,
                pillar=s.pillar,
                severity=s.severity,
                profile=s.profile,
                doc=s.doc,
            )
            for s in specs
        ],
        plugin_errors=[PluginProblem(source=e.source, reason=e.reason) for e in registry.errors],
        scores=scores,
        gate=gate,
        summary=summary,
        notices=notices,
    )


def _aggregate(results: list[Result]) -> Status:
    statuses = {r.status for r in results}
    for s in (Status.ERROR, Status.FAIL, Status.PASS):
        if s in statuses:
            return s
    return Status.NOT_APPLICABLE
