"""Schedules outside cron and systemd: launchd jobs of one backup repository that start together."""

from __future__ import annotations

from collections.abc import Iterator

from chom_validate.api import Context as ScanContext
from chom_validate.artifacts.cron import CronSyntaxError, fire_times
from chom_validate.facts.backups import _BACKUPISH, _MAINT, _family, _locked
from chom_validate.facts.wiring import LaunchdJob, parse_launchd
from chom_validate.findings import Evidence, Result
from chom_validate.registry import check

_MAX_PLIST = 1_000_000


def _jobs(ctx: ScanContext) -> list[LaunchdJob]:
    out = []
    for path in ctx.index.files:
        if not path.endswith(".plist"):
            continue
        text = ctx.read_text(path) or ""  # "" when unreadable, binary or not collected
        if len(text) <= _MAX_PLIST:
            job = parse_launchd(path, text)
            if job is not None:
                out.append(job)
    return out


def _times(job: LaunchdJob) -> set[object]:
    out: set[object] = set()
    for spec in job.calendar:
        try:
            out |= set(fire_times(spec, 400))
        except (CronSyntaxError, ValueError):
            continue
    return out


def _ev(job: LaunchdJob, line: int | None, note: str) -> Evidence:
    return Evidence(path=job.path, line=line or job.label_line, note=note)


@check("BAK031", "launchd-jobs-collide", category="backup", severity="medium", pillar="reliability")
def launchd_jobs_collide(ctx: ScanContext) -> Iterator[Result]:
    """launchd backup and check/prune jobs of one repository do not start at the same moment.

    What it does
        Reads every launchd property list (LaunchAgents, LaunchDaemons), pairs the backup job with
        the check/prune/forget jobs of the same tool (restic, borg...), and reports pairs that
        both set `RunAtLoad` (both start the instant the agent is loaded: every login, every
        boot) or whose `StartCalendarInterval` entries fire in the same minute, unless both
        commands take a lock (`flock`, `lckdo`...).
    Why it matters
        Backup tools lock the repository: one of the two fails ("repository is already locked")
        at every login. A "monthly" check with `RunAtLoad` also runs at every login, not monthly.
    Example
        com.example.restic-backup.plist and com.example.restic-check.plist: <key>RunAtLoad</key><true/>
    Fix
        Drop `RunAtLoad` from the check (keep its calendar), or give the jobs distinct times and
        serialise them with a lock.
    References
        https://keith.github.io/xcode-man-pages/launchd.plist.5.html
    Severity
        Medium: one of the two jobs fails on the repository lock at every collision; backups still
        run on the other occasions, so it degrades rather than loses data.
    """
    jobs = sorted(_jobs(ctx), key=lambda j: j.path)
    if not jobs:
        yield Result.not_applicable("no launchd jobs in this target")
        return
    roles: list[tuple[LaunchdJob, str, str]] = []
    for j in jobs:
        text = f"{j.label} {j.command}"
        fam = _family(text)
        role = "maintenance" if _MAINT.search(j.command) else "backup" if _BACKUPISH.search(text) else None
        if fam and role:
            roles.append((j, role, fam))
    pairs = [
        (b, m)
        for b, rb, fb in roles
        if rb == "backup"
        for m, rm, fm in roles
        if rm == "maintenance" and fm == fb and not (_locked(b.command) and _locked(m.command))
    ]
    if not pairs:
        yield Result.not_applicable(
            f"{len(jobs)} launchd job(s), no backup and check/prune job of one repository"
        )
        return
    failed = 0
    for b, m in pairs:
        if b.run_at_load and m.run_at_load:
            failed += 1
            yield Result.fail(
                f"launchd jobs {b.label} (backup) and {m.label} (check/prune) both set RunAtLoad: both start "
                "the moment they are loaded (every login or boot), and one fails on the repository lock",
                _ev(b, b.run_at_load_line, "RunAtLoad: starts at every load"),
                _ev(m, m.run_at_load_line, "RunAtLoad: starts at every load, not only on its calendar"),
                subject=f"{b.path}|{m.path}",
            )
            continue
        common = _times(b) & _times(m)
        if common:
            failed += 1
            yield Result.fail(
                f"launchd jobs {b.label} (backup) and {m.label} (check/prune) start in the same minute "
                f"({len(common)} time(s) a year) and nothing serialises them",
                _ev(b, b.calendar_line, f"StartCalendarInterval {b.calendar}"),
                _ev(m, m.calendar_line, f"StartCalendarInterval {m.calendar}"),
                subject=f"{b.path}|{m.path}",
            )
    if not failed:
        b, m = pairs[0]
        yield Result.passed(
            f"{len(pairs)} launchd backup/check pair(s) start at different moments",
            _ev(b, b.label_line, "backup job"),
            _ev(m, m.label_line, "check/prune job"),
        )
