"""Backups: the scripts, their schedules and safety, compared with what the documents promise."""

from __future__ import annotations

import datetime as dt
import posixpath
import re
from collections.abc import Iterator

from chom_validate.checks._dr_util import obligations_na

from chom_validate.api import Context as ScanContext
from chom_validate.artifacts import Artifact
from chom_validate.artifacts.cron import split_cron_line
from chom_validate.artifacts.docs import Document, find_dates, format_duration
from chom_validate.artifacts.prometheus import RuleFile
from chom_validate.artifacts.shell import ShellScript
from chom_validate.artifacts.systemd import Unit
from chom_validate.facts.anchors import top_key_line
from chom_validate.facts.backups import (
    BackupModel,
    BackupScript,
    Step,
    background_saves,
    backup_model,
    blocking_saves,
    chained_dumps,
    empty_array_args,
    missing_unit_refs,
    physical_line,
    repository_checks,
    run_safety,
    schedule_collisions,
    status_wrappers,
    wipes_before_restore,
)
from chom_validate.facts.inputs import Backups
from chom_validate.facts.recovery import (
    ObjectiveRow,
    docs,
    documented_retention,
    objective_rows,
    stateful_components,
)
from chom_validate.findings import Evidence, Result
from chom_validate.registry import check


def _after_writes(b: BackupScript, what: str, *, last: bool = False) -> list[Evidence]:
    """Where a missing backup step belongs: at the command(s) that write the backup (each one, or
    the last), or the script without a line when no command is known to write one."""
    lines = sorted({ln: comp for comp, ln in b.components.items()}.items())
    if not lines:
        return [b.artifact.evidence(None, note=what)]
    if last:
        lines = lines[-1:]
    return [b.artifact.evidence(ln, note=f"writes the {comp} backup; {what}") for ln, comp in lines[:3]]


def _rule_file_groups(a: Artifact) -> Evidence:
    """A rule file that lacks an alert: its ``groups:`` key, where one belongs (else the file)."""
    line = top_key_line(a, "groups")
    return a.evidence(
        line,
        note="rule file without a backup alert; one belongs under `groups:`"
        if line
        else "rule file without a backup alert",
    )


def _no_scripts(ctx: ScanContext) -> Result:
    return Result.not_applicable(Backups.empty_reason)


@check(
    "BAK001",
    "backup-scheduled",
    category="backup",
    severity="high",
    pillar="reliability",
)
def backup_scheduled(model: Backups) -> Iterator[Result]:
    """Every backup script is run by a schedule (cron, a cron line a script installs, or a timer).

    What it does
        Finds backup scripts (database dumps, restic/borg, tar of data) and looks for a cron entry,
        a cron line written by a script, or a systemd timer whose command runs the script (by file
        name or by the name it is installed under with `install`/`cp`).
    Why it matters
        A backup script nobody runs is a backup that does not exist; it is usually discovered on the
        day of the restore.
    Example
        landsraad/backup/backup-chom.sh exists but no /etc/cron.d entry or timer calls it.
    Fix
        Install a cron file (`0 2 * * * root /usr/local/bin/chom-backup`) or a `.timer` with
        `OnCalendar=` and `Persistent=true`, from the deploy script so it is not forgotten.
    References
        https://www.freedesktop.org/software/systemd/man/latest/systemd.timer.html
    Severity
        High: a backup nothing runs does not exist; the first restore finds only what was copied by
        hand, a likely data loss.
    """
    for b in model.scripts:
        scheds = model.schedules_for(b)
        if not scheds:
            yield Result.fail(
                f"{b.artifact.label} is never scheduled: no cron entry or timer runs "
                f"{' / '.join(sorted({b.name, *b.aliases}))}",
                b.artifact.evidence(
                    None, note="backup script without a schedule: no cron entry or timer runs it"
                ),
                subject=b.name,
            )
            continue
        s = scheds[0]
        every = format_duration(s.interval) if s.interval else "unknown interval"
        yield Result.passed(
            f"{b.artifact.label} runs from {s.label} ({s.spec}, every {every})",
            s.artifact.evidence(s.line, note="schedule"),
            b.artifact.evidence(1, note="backup script"),
            subject=b.name,
        )


@check("BAK002", "stateful-components-backed-up", category="backup", severity="high", pillar="reliability")
def stateful_backed_up(ctx: ScanContext) -> Iterator[Result]:
    """Every stateful component has a backup.

    What it does
        Derives stateful components from host roles (db -> MySQL, app -> app storage, cache ->
        Redis, monitoring -> Grafana, Prometheus, Loki) and `backup.components`, skips the ones
        declared `backup.acceptable_loss` (or whose DR plan row says "not backed up (acceptable
        loss)"), and looks for a backup script that covers each one on
        its host. The DR plan row of an uncovered component is shown as the claim it breaks.
    Why it matters
        A component missing from the backups is lost with its host: Grafana users and
        hand-made dashboards, uploaded files, queued jobs.
    Example
        monitoring host mentat runs Grafana; nothing copies /var/lib/grafana, while the DR plan
        promises an RPO of 24 hours for it.
    Fix
        Add the component to a backup script (`sqlite3 grafana.db ".backup ..."`, tar of the data
        dir), or declare it in `backup.acceptable_loss` in chom-validate.yaml with a reason.
    References
        https://grafana.com/docs/grafana/latest/administration/back-up-grafana/
    Severity
        High: a stateful component with no backup is lost with its host; the DR plan's recovery point is
        false.
    """
    comps = stateful_components(ctx)
    if not comps:
        yield Result.not_applicable(
            "no stateful component known (no db/app/cache/monitoring roles in config)"
        )
        return
    model = backup_model(ctx)
    claims: dict[str, tuple[Artifact, ObjectiveRow]] = {}
    for art, doc in docs(ctx):
        for row in objective_rows(doc):
            if row.component:
                claims.setdefault(row.component, (art, row))
    for c in comps:
        covering = model.covering(c.key, c.host)
        where = f" on {c.host}" if c.host else ""
        if covering:
            b, line = covering[0]
            yield Result.passed(
                f"{c.label}{where} is backed up by {b.artifact.label}",
                b.artifact.evidence(line, note=f"backs up {c.label}"),
                subject=c.key,
            )
            continue
        if c.key in claims and _ACCEPTED.search(" ".join(claims[c.key][1].row.cells)):
            art, row = claims[c.key]
            yield Result.passed(
                f"{c.label}{where} is not backed up by design: the DR plan declares its loss acceptable",
                art.evidence(row.row.line, note="declared acceptable loss"),
                subject=c.key,
            )
            continue
        ev = list(c.evidence)
        if c.key in claims:
            art, row = claims[c.key]
            ev.insert(0, art.evidence(row.row.line, note="the DR plan promises a recovery point for it"))
        if model.scripts:
            ev += _after_writes(model.scripts[0], "backup scripts found do not cover it", last=True)
        yield Result.fail(
            f"{c.label}{where} ({c.why}) is not backed up by any script"
            + (f"; the DR plan still promises RPO {claims[c.key][1].rpo}" if c.key in claims else ""),
            *ev,
            subject=c.key,
        )


_ACCEPTED = re.compile(r"acceptable[ -]loss|not backed up|no backup|rebuil[dt] from", re.I)


@check("BAK003", "retention-matches-docs", category="backup", severity="medium", pillar="compliance")
def retention_matches_docs(ctx: ScanContext, model: Backups) -> Iterator[Result]:
    """The retention the scripts implement is the retention the documents promise.

    What it does
        Reads retention from the scripts as a policy (`find -mtime +N -delete`, `ls -t | tail -n
        +N | xargs rm`, restic/borg `--keep-daily/weekly/monthly`) and from the DR plan / backup
        docs ("7 daily, 4 weekly, 12 monthly", "30 days"), and compares them.
    Why it matters
        Auditors and customers rely on the documented retention; a script that silently keeps 14
        days cannot restore last quarter's data that the plan promises.
    Example
        DR plan: "Retention: 7 daily, 4 weekly and 12 monthly"; script: `find ... -mtime +14 -delete`.
    Fix
        Implement the documented tiers (restic/borg `forget --keep-daily 7 --keep-weekly 4
        --keep-monthly 12`, or separate weekly/monthly sets) or correct the document.
    References
        https://restic.readthedocs.io/en/stable/060_forget.html
    Severity
        Medium: the copies the documents promise are not there when needed (usually the older ones);
        recent restores still work.
    """
    documented = documented_retention(ctx)
    for b in model.scripts:
        if not b.retention:
            yield Result.fail(
                f"{b.artifact.label} never prunes old backups (no find -mtime/-delete, no forget/prune)",
                *_after_writes(
                    b, "no retention logic: pruning belongs after the last backup written", last=True
                ),
                *(d.artifact.evidence(d.line, note="documented retention") for d in documented[:1]),
                subject=b.name,
            )
            continue
        r = b.retention[0]
        if (r.kind == "age" and r.days is None) or r.kind == "policy":
            yield Result.not_applicable(
                f"{b.artifact.label} prunes old backups, but the age is a variable or template; value unknown",
                b.artifact.evidence(r.line, note="retention value unknown"),
                subject=b.name,
            )
            continue
        if not documented:
            yield Result.not_applicable(
                f"{b.artifact.label} keeps {r.describe()}, but no document states a retention to compare with",
                b.artifact.evidence(r.line),
            )
            continue
        d = documented[0]
        ok, why = _same_retention(r.kind, r.days, r.count, r.tiers, d.tiers, d.days, b, model)
        evs = (
            b.artifact.evidence(r.line, note=f"implemented: {r.describe()}"),
            d.artifact.evidence(d.line, note=f"documented: {d.describe()}"),
        )
        if ok:
            yield Result.passed(
                f"{b.artifact.label} keeps {r.describe()} as documented", *evs, subject=b.name
            )
        else:
            yield Result.fail(
                f"{b.artifact.label} keeps {r.describe()} but {d.artifact.label} promises {d.describe()}: {why}",
                *evs,
                subject=b.name,
            )


def _same_retention(
    kind: str,
    days: int | None,
    count: int | None,
    tiers: dict[str, int],
    doc_tiers: dict[str, int],
    doc_days: int | None,
    b: BackupScript,
    model: object,
) -> tuple[bool, str]:
    if kind == "tiers":
        if doc_tiers:
            return tiers == doc_tiers, "different tiers"
        horizon = max(
            n * {"hourly": 0, "daily": 1, "weekly": 7, "monthly": 30, "yearly": 365}[t]
            for t, n in tiers.items()
        )
        return abs(horizon - (doc_days or 0)) <= 1, f"implemented horizon ~{horizon} days"
    if kind == "count":
        assert isinstance(model, BackupModel)
        scheds = model.schedules_for(b)
        interval = scheds[0].interval if scheds and scheds[0].interval else 86400
        days = (count or 0) * interval // 86400
    if doc_tiers:
        longer = {t: n for t, n in doc_tiers.items() if t in ("weekly", "monthly", "yearly")}
        if longer:
            return False, (f"only age-based pruning after {days} days; no {'/'.join(longer)} copies are kept")
        return abs((days or 0) - doc_tiers.get("daily", 0)) <= 1, "different number of days"
    return abs((days or 0) - (doc_days or 0)) <= 1, f"{days} days implemented vs {doc_days} documented"


def _steps_result(ctx: ScanContext, b: BackupScript, steps: list[Step], what: str) -> Iterator[Result]:
    swallowed = [s for s in steps if not s.fails_backup]
    if swallowed:
        s = swallowed[0]
        yield Result.fail(
            f"{b.artifact.label}: {what} `{s.text[:80]}` can fail without failing the backup ({s.why})",
            b.artifact.evidence(s.line, note=s.why),
            subject=b.name,
        )
    else:
        s = steps[0]
        yield Result.passed(
            f"{b.artifact.label}: {what} present and fatal on failure ({s.why})",
            b.artifact.evidence(s.line, note=s.why),
            subject=b.name,
        )


@check("BAK004", "backup-verified", category="backup", severity="high", pillar="reliability")
def backup_verified(ctx: ScanContext, model: Backups) -> Iterator[Result]:
    """Backups are verified after they are written, and a failed verification fails the backup.

    What it does
        Looks in each backup script for integrity checks (`gzip -t`, `tar -t`, `sha256sum -c`,
        `restic/borg check`, a grep for "Dump completed") and checks that their failure stops the
        script (`set -e`, `|| exit 1`, `if !`) rather than being swallowed (`|| true`).
    Why it matters
        A truncated dump or a corrupt archive looks like a successful backup until the restore.
    Example
        mysqldump ... | gzip > db.sql.gz      # no gzip -t, no check the dump completed
    Fix
        Add `gzip -t "$f"` and `zcat "$f" | tail -1 | grep -q "Dump completed"` under `set -euo
        pipefail`, and report failure to monitoring.
    References
        https://dev.mysql.com/doc/refman/8.0/en/mysqldump.html
    Severity
        High: an unverified or silently failing verification keeps truncated dumps as backups, found out
        only at restore time.
    """
    for b in model.scripts:
        companion = None if b.verification else _repository_check(ctx, b)
        if companion is not None:
            art, line = companion
            yield Result.passed(
                f"{b.artifact.label}: its repository is checked by {art.label}:{line + art.line_offset} "
                "(see BAK022 for whether that check reads the data)",
                art.evidence(line, note="repository check"),
                subject=b.name,
            )
            continue
        if not b.verification:
            yield Result.fail(
                f"{b.artifact.label} never verifies what it wrote (no gzip -t, tar -t, sha256sum -c, check)",
                *_after_writes(b, "no verification step: the check of what it wrote belongs after it"),
                subject=b.name,
            )
        else:
            yield from _steps_result(ctx, b, b.verification, "verification")


_REPO_TOOL = re.compile(r"\b(restic|borg|kopia|rustic)\b")


def _repository_check(ctx: ScanContext, b: BackupScript) -> tuple[Artifact, int] | None:
    """A separate job checking the repository this script backs up to (`restic check` in a sibling
    check script): repository tools verify apart from the backup run."""
    m = _REPO_TOOL.search(b.artifact.text)
    if not m:
        return None
    rx = re.compile(rf"^\s*(?:\S+/)?{m.group(1)}\b.*\b(check|verify)\b")
    for a, s in _all_scripts(ctx):
        for c in s.commands:
            if rx.search(c.text):
                return a, c.line
    return None


@check("BAK005", "offsite-copy", category="backup", severity="high", pillar="reliability")
def offsite_copy(ctx: ScanContext, model: Backups) -> Iterator[Result]:
    """Backups are copied off the host, and a failed copy fails the backup.

    What it does
        Looks for an off-site copy in each backup script (rsync/scp to `host:path`, rclone,
        `aws s3`, restic/borg repositories) and checks that its failure is not swallowed.
    Why it matters
        A backup on the same disk dies with the host, the disk or the ransomware that encrypts it.
    Example
        rsync -a /var/backups/chom backup@mentat:/srv/backups || true
    Fix
        Copy to another host or object storage after every run, without `|| true`, and alert on
        the copy's age.
    References
        https://www.backblaze.com/blog/the-3-2-1-backup-strategy/
    Severity
        High: without an off-site copy (or with its failure swallowed) the backup dies with the server
        it protects.
    """
    for b in model.scripts:
        if not b.offsite:
            yield Result.fail(
                f"{b.artifact.label} keeps backups only on the host itself (no rsync/rclone/s3/restic copy)",
                *_after_writes(b, "no off-site copy: it belongs after the last backup written", last=True),
                subject=b.name,
            )
        else:
            yield from _steps_result(ctx, b, b.offsite, "off-site copy")


@check(
    "BAK006", "backup-encrypted", category="backup", severity="medium", pillar="security", profile="hardened"
)
def backup_encrypted(model: Backups) -> Iterator[Result]:
    """Backups are encrypted before they leave the host.

    What it does
        Looks for gpg/openssl/age encryption or an encrypting backup tool (restic, borg) in each
        backup script.
    Why it matters
        A database dump holds every customer record and password hash; an unencrypted copy on a
        backup host or bucket is a breach waiting for one leaked credential.
    Example
        mysqldump ... | gzip > db.sql.gz && rsync db.sql.gz backup@host:
    Fix
        `gpg --encrypt --recipient ops@example.org`, `age -r`, or use restic/borg with a key kept
        outside the host.
    References
        https://restic.readthedocs.io/en/stable/
    Severity
        Medium: an unencrypted copy exposes the data to whoever reads the backup host or bucket; access
        control there is the workaround.
    """
    for b in model.scripts:
        if b.encryption:
            s = b.encryption[0]
            yield Result.passed(
                f"{b.artifact.label} encrypts backups",
                b.artifact.evidence(s.line, note="encryption"),
                subject=b.name,
            )
        else:
            yield Result.fail(
                f"{b.artifact.label} writes unencrypted backups (no gpg/openssl/age/restic/borg)",
                *_after_writes(b, "no encryption step: this writes the backup in clear"),
                subject=b.name,
            )


@check(
    "BAK007", "restore-tested", category="backup", severity="high", pillar="reliability", profile="hardened"
)
def restore_tested(ctx: ScanContext, model: Backups) -> Iterator[Result]:
    """Restores are tested: a restore-test script, or a dated restore/DR test record that is recent.

    What it does
        Passes when the target holds a restore-test script (`restore-test.sh`, `verify-restore.sh`,
        `dr-drill.sh`), or a document line about a restore/DR test carrying a date not older than
        `backup.restore_test_max_age_days` (default 90) before the scan time.
    Why it matters
        Untested backups fail at the worst moment: wrong credentials, missing keys, a format the
        restore tool does not read.
    Example
        "Last restore test: 2025-01-12" in a plan read in November.
    Fix
        Automate a restore into a scratch database weekly (and alert on its failure), or run and
        record a drill every quarter.
    References
        https://sre.google/sre-book/data-integrity/
    Severity
        High: backups never restored are likely not to restore when needed; the gap is found during the
        outage.
    """
    if model.restore_tests:  # positive evidence: it needs no documents to be judged
        a = model.restore_tests[0]
        yield Result.passed(f"restore test script {a.label}", a.evidence(1, note="restore test script"))
        return
    na = obligations_na(ctx)  # a backup tool's own repository is not somebody's deployment
    if na is not None:
        yield na
        return
    max_age = int(ctx.settings("backup").get("restore_test_max_age_days", 90))
    today = ctx.now.date()
    best: tuple[dt.date, Artifact, int, str] | None = None
    for art, doc in docs(ctx):
        for n, line in doc.text_lines():
            if not re.search(r"restore|\bdrill\b|\bDR test|last tested", line, re.I):
                continue
            sec = doc.section_of(n)
            for d in find_dates(line):
                if d <= today and (best is None or d > best[0]):
                    best = (d, art, n, sec.text if sec else "")
            # rows of a "DR testing" table: the date is on the row, the word "restore" may not be
    for art, doc in docs(ctx):
        for t in doc.tables:
            if t.heading and re.search(r"test|drill", t.heading.text, re.I):
                for r in t.rows:
                    for d in find_dates(" ".join(r.cells)):
                        if d <= today and (best is None or d > best[0]):
                            best = (d, art, r.line, t.heading.text)
    b0 = model.scripts[0]
    if best is None:
        yield Result.fail(
            "no restore-test script and no dated restore test in any document",
            b0.artifact.evidence(None, note="backups exist but no restore was ever recorded"),
        )
        return
    d, best_art, best_line, _ = best
    age = (today - d).days
    ev = best_art.evidence(best_line, note=f"restore test dated {d}")
    if age > max_age:
        yield Result.fail(f"last recorded restore test {d} is {age} days old (> {max_age})", ev)
    else:
        yield Result.passed(f"restore tested {d} ({age} days ago, window {max_age})", ev)


@check("BAK008", "backup-freshness-alert", category="backup", severity="high", pillar="observability")
def backup_freshness_alert(ctx: ScanContext, model: Backups) -> Iterator[Result]:
    """An alert fires when the last successful backup is too old.

    What it does
        Collects the backup metrics the scripts export (textfile collector: names containing
        `backup`) and looks for an alerting rule whose expression uses one of them (or any
        `backup` metric with `time()`), in every Prometheus rule file of the run.
    Why it matters
        Backups fail silently: a full disk, an expired key, a changed password. Without a freshness
        alert the first sign is the failed restore.
    Example
        The script writes chom_backup_last_success_timestamp_seconds; no rule reads it.
    Fix
        - alert: BackupTooOld
          expr: time() - chom_backup_last_success_timestamp_seconds > 26 * 3600
          labels: {severity: critical}
    References
        https://github.com/prometheus/node_exporter#textfile-collector
    Severity
        High: without a freshness alert backups can stop for weeks unnoticed, a likely data loss at the
        next incident.
    """
    na = obligations_na(ctx)  # a backup tool's own repository is not somebody's deployment
    if na is not None:
        yield na
        return
    metrics = {m: (b, ln) for b in model.scripts for m, ln in b.metrics.items()}
    rule_files = [(a, rf) for c in ctx.fleet.values() or [ctx] for a, rf in c.parsed("prometheus_rules")]
    if not ctx.fleet:
        rule_files = list(ctx.parsed("prometheus_rules"))
    alerts = [(a, r) for a, rf in rule_files if isinstance(rf, RuleFile) for r in rf.alerts]
    for a, r in alerts:
        used = [m for m in metrics if re.search(rf"\b{re.escape(m)}\b", r.expr)]
        if used or re.search(r"backup\w*(timestamp|last|age|success)", r.expr, re.I):
            yield Result.passed(
                f"alert {r.name} watches backup freshness",
                a.evidence(r.line_of("expr"), note="freshness alert"),
                subject=r.name,
            )
            return
    ev = []
    if metrics:
        name, (b, ln) = next(iter(metrics.items()))
        ev.append(b.artifact.evidence(ln, note=f"metric {name} is exported but no alert reads it"))
    else:
        ev += _after_writes(model.scripts[0], "the script exports no backup metric", last=True)
    ev += [_rule_file_groups(a) for a, _ in rule_files[:3]]
    yield Result.fail(
        f"no alerting rule on backup freshness among {len(alerts)} alert(s) in {len(rule_files)} rule file(s)"
        + (f"; exported metrics: {', '.join(sorted(metrics))}" if metrics else ""),
        *ev,
    )


_CRED_RE = re.compile(
    r"(?<!['\"])\b(mysqldump|mariadb-dump|mysql|mariadb|mysqlpump|xtrabackup|mariabackup)\b(?!['\"])[^|;&]*\s"
    r"(-p(?!\s|rintf)\S+|--password=\S+)|\b(xtrabackup|mariabackup)\b[^|;&]*\s--password\s+(?!-)\S+|\bPGPASSWORD=\S+|\bpg_dump\b[^|;&]*postgres(ql)?://[^:\s]+:[^@\s]+@|"
    r"\b(aws_secret_access_key|AWS_SECRET_ACCESS_KEY)=\S+|\bRESTIC_PASSWORD=\S+|\bBORG_PASSPHRASE=\S+|"
    r"\bredis-cli\b[^|;&]*\s-a\s+\S+"
)


@check("BAK009", "backup-credentials-cmdline", category="backup", severity="high", pillar="security")
def backup_credentials(ctx: ScanContext) -> Iterator[Result]:
    """Backup jobs do not put credentials on command lines.

    What it does
        Looks at backup scripts and at cron entries/timers that run backups for `mysqldump -pSECRET`,
        `--password=`, `redis-cli -a`, `PGPASSWORD=` / `RESTIC_PASSWORD=` inline, and credentials in
        database URLs.
    Why it matters
        Command lines are visible to every user in `ps`, end up in cron mail, logs and shell
        history; a cron line is often world-readable in /etc/cron.d.
    Example
        0 2 * * * root mysqldump -uroot -pS3cret chom | gzip > /backup/chom.sql.gz
    Fix
        Use `--defaults-extra-file=/root/.my.cnf` (mode 0600), `REDISCLI_AUTH` from a root-only
        file, `RESTIC_PASSWORD_FILE`, `.pgpass`.
    References
        https://dev.mysql.com/doc/refman/8.0/en/password-security-user.html
    Severity
        High: the database password in argv or cron lines is readable by every local user through the
        process table.
    """
    model = backup_model(ctx)
    subjects = [
        (b.artifact, line_no, line) for b in model.scripts for line_no, line in enumerate(b.artifact.lines, 1)
    ]
    subjects += [
        (s.artifact, s.line, s.artifact.line_text(s.line))
        for s in model.schedules
        if re.search(r"backup|dump|restic|borg", s.command, re.I)
    ]
    if not subjects:
        yield _no_scripts(ctx)
        return
    bad = False
    for art, n, line in subjects:
        if line.lstrip().startswith("#"):
            continue
        m = _CRED_RE.search(line)
        if m:
            bad = True
            yield Result.fail(
                f"{art.label}:{n + art.line_offset}: credential on a command line ({m.group(0).split()[0]} ...)",
                art.evidence(n, note="visible in ps, cron mail and logs"),
            )
    if not bad:
        arts = {id(a): a for a, _, _ in subjects}
        first = next(iter(arts.values()))
        yield Result.passed(
            f"no credentials on backup command lines ({len(arts)} file(s) read)",
            first.evidence(1, note="read"),
        )


# -- round trip: what a run does when a step fails, what a restore does to live data -----------------


def _script_pairs(ctx: ScanContext) -> list[tuple[BackupScript, ShellScript]]:
    scripts = {a.path: s for a, s in ctx.parsed("shell") if isinstance(s, ShellScript) and not a.embedded}
    return [(b, scripts[b.artifact.path]) for b in backup_model(ctx).scripts if b.artifact.path in scripts]


def _all_scripts(ctx: ScanContext) -> list[tuple[Artifact, ShellScript]]:
    return [(a, s) for a, s in ctx.parsed("shell") if isinstance(s, ShellScript) and not a.embedded]


def _units(ctx: ScanContext) -> dict[str, tuple[Artifact, Unit]]:
    return {u.name: (a, u) for a, u in ctx.parsed("systemd_unit") if isinstance(u, Unit)}


@check("BAK021", "backup-schedule-collision", category="backup", severity="high", pillar="reliability")
def backup_schedule_collision(ctx: ScanContext) -> Iterator[Result]:
    """A backup and a check/prune job of the same repository do not start at the same moment.

    What it does
        Takes every schedule (cron files, cron lines installed by scripts, timers with the service
        they start), pairs backup jobs with check/prune/forget/verify jobs of the same tool
        (restic, borg, kopia...) or name family, computes their start times over a year
        (`OnCalendar=daily` is 00:00, `monthly` is 00:00 on the 1st, `@midnight` likewise) and
        reports the pairs that start in the same minute, unless both commands take a lock
        (`flock`) or the timer spreads its start (`RandomizedDelaySec=`). A `Conflicts=` that
        names a unit that cannot exist (SYS027) is shown as the serialisation that does not work.
    Why it matters
        Backup tools lock the repository: the check takes an exclusive lock and `forget --prune`
        needs one, so one of the two fails ("repository is already locked") on every collision,
        usually silently, once a month or more.
    Example
        restic-backup@.timer OnCalendar=daily  and  restic-check@.timer OnCalendar=monthly
    Fix
        Move one of them (`OnCalendar=*-*-01 03:00`), add `RandomizedDelaySec=`, or run both under
        `flock /run/lock/restic.lock` so the second waits.
    References
        https://restic.readthedocs.io/en/stable/100_references.html#locks
    Severity
        High as declared: the colliding job fails on the repository lock on those dates and that backup
        or check is lost; the next run recovers, so medium would also be defensible.
    """
    model = backup_model(ctx)
    if not model.schedules:
        yield Result.not_applicable("no schedules (cron, timers) in this target")
        return
    units = _units(ctx)
    collisions = schedule_collisions(model, units)
    refs = {m.unit.name: m for m in missing_unit_refs(units) if m.key == "Conflicts"}
    for c in collisions:
        b, m = c.backup.schedule, c.maintenance.schedule
        evs = [
            b.artifact.evidence(b.line, note=f"backup job: {b.spec}"),
            m.artifact.evidence(m.line, note=f"{c.maintenance.role} job: {m.spec}"),
        ]
        svc = posixpath.splitext(posixpath.basename(m.artifact.path))[0] + ".service"
        broken = refs.get(svc)
        if broken:
            evs.append(
                broken.artifact.evidence(broken.line, note=f"Conflicts={broken.name} cannot take effect")
            )
        yield Result.fail(
            f"backup ({b.spec} in {b.label}) and {c.maintenance.family} check/prune ({m.spec} in "
            f"{m.label}) start at the same minute ({c.when:%d %H:%M}, {c.count} time(s) a year) and "
            "nothing serialises them: one fails on the repository lock",
            *evs,
            subject=f"{b.label}|{m.label}",
        )
    if not collisions:
        yield Result.passed(
            f"no backup and check/prune job of one repository start together ({len(model.schedules)} schedule(s))",
            model.schedules[0].artifact.evidence(model.schedules[0].line),
        )


@check("BAK022", "verification-reads-data", category="backup", severity="medium", pillar="reliability")
def verification_reads_data(ctx: ScanContext) -> Iterator[Result]:
    """A repository check reads (a sample of) the backed-up data, not only the metadata.

    What it does
        Finds `restic check` (and rustic) commands in scripts and reports those without
        `--read-data` or `--read-data-subset=`.
    Why it matters
        Without it, `restic check` verifies the structure and index only; packs that are corrupt
        or missing on the remote are not noticed until the restore. Medium: the backups may be
        fine, but the job sold as verification cannot tell.
    Example
        restic check          # monthly "verification" job
    Fix
        `restic check --read-data-subset=5%` (or `=1/12` monthly, covering everything in a year),
        and a periodic real restore test (BAK007).
    References
        https://restic.readthedocs.io/en/stable/045_working_with_repos.html#checking-integrity-and-consistency
    Severity
        Medium: corrupt pack data goes undetected until a restore, but metadata is still checked and
        other copies may exist.
    """
    found = [(a, s, ll, reads) for a, s in _all_scripts(ctx) for ll, reads in repository_checks(s)]
    if not found:
        yield Result.not_applicable("no restic check command in any script")
        return
    for a, s, ll, reads in found:
        n = physical_line(s, ll, r"\bcheck\b")
        if reads:
            yield Result.passed(
                f"{a.label}:{n + a.line_offset}: restic check reads pack data",
                a.evidence(n),
                subject=f"{a.path}:{ll.start}",
            )
            continue
        yield Result.fail(
            f"{a.label}:{n + a.line_offset}: `restic check` without --read-data/--read-data-subset "
            "verifies metadata only; corrupt or missing data is not detected",
            a.evidence(n, note="check without reading data"),
            subject=f"{a.path}:{ll.start}",
        )


@check("BAK023", "backup-failures-ignored", category="backup", severity="high", pillar="reliability")
def backup_failures_ignored(ctx: ScanContext) -> Iterator[Result]:
    """A backup script fails when a backup step fails (no silent exit 0).

    What it does
        In each backup script without `set -e` (or an ERR trap), finds the steps that produce
        backup data (dumps, `tar -c`, `rsync`, `restic backup`, also inside `docker run/exec`)
        whose status is neither tested (`if`, `||  exit`, `&&`) nor read from `$?` on the next
        line. One finding per script, with every such step.
    Why it matters
        The script then exits with the status of its last command, usually 0: cron, timers,
        `OnFailure=` and monitoring see success while the archive is missing or partial, and the
        folder it created looks like a good restore point. High: backups stop without anybody
        knowing.
    Example
        docker run ... tar -cf /backup/vmail.tar /vmail     # error printed, loop goes on, exit 0
    Fix
        `set -euo pipefail` at the top, or `|| { echo "vmail backup failed" >&2; exit 1; }` on every
        step, and report the final status to monitoring.
    References
        https://www.gnu.org/software/bash/manual/html_node/The-Set-Builtin.html
    Severity
        High: a failed backup step exits 0, so the job looks healthy while producing no backup.
    """
    pairs = _script_pairs(ctx)
    if not pairs:
        yield _no_scripts(ctx)
        return
    for b, s in pairs:
        rs = run_safety(s)
        if rs.unchecked:
            a = b.artifact
            yield Result.fail(
                f"{a.label}: {len(rs.unchecked)} backup step(s) run without any failure handling (no "
                "`set -e`, no `|| exit`, no `$?` test): a failed step is ignored and the script exits 0",
                *(a.evidence(ll.start, note="failure ignored") for ll in rs.unchecked[:10]),
                subject=a.path,
            )
        else:
            why = f"`set -e` (line {rs.errexit})" if rs.errexit else "every step is tested"
            yield Result.passed(
                f"{b.artifact.label}: backup step failures stop the run ({why})",
                b.artifact.evidence(rs.errexit or 1),
            )


@check("BAK024", "dump-chained-with-semicolon", category="backup", severity="high", pillar="reliability")
def dump_chained(ctx: ScanContext) -> Iterator[Result]:
    """A dump is not chained to the archiving step with `;` (its failure would be archived).

    What it does
        Finds command strings (often the `sh -c "..."` of a container) where a dump or hot-backup
        tool (mysqldump, mariabackup/xtrabackup, pg_dump, redis-cli) is followed by `;` and then
        the step that packs, prepares, copies or uploads the result.
    Why it matters
        With `;` the next step runs whatever the dump did: a failed or partial dump is archived
        under the normal name, and the command's status is that of the last step (tar: 0). Even
        `set -e` in the calling script does not see inside the string. High: the backup is
        silently bad.
    Example
        sh -c "mariabackup --backup --target-dir=/b ; mariabackup --prepare --target-dir=/b ; tar -cf /backup/db.tar /b"
    Fix
        Chain with `&&` (or `set -e;` at the start of the string) so a failed dump stops the chain
        and the container exits non-zero, and check that status.
    References
        https://mariadb.com/kb/en/full-backup-and-restore-with-mariabackup/
    Severity
        High: a failed or partial dump is packed and kept as a normal backup, found out only at restore
        time.
    """
    pairs = _script_pairs(ctx)
    if not pairs:
        yield _no_scripts(ctx)
        return
    bad = False
    for b, s in pairs:
        for ll, tool in chained_dumps(s):
            bad = True
            n = physical_line(s, ll, rf"\b{re.escape(tool)}\b")
            yield Result.fail(
                f"{b.artifact.label}:{n + b.artifact.line_offset}: {tool} is chained to the next step "
                "with `;`: a failed or partial dump is packed as a normal backup",
                b.artifact.evidence(n, note=f"{tool} ... ; next step"),
                subject=f"{b.artifact.path}:{ll.start}",
            )
    if not bad:
        yield Result.passed(
            f"no dump chained with `;` in {len(pairs)} backup script(s)", pairs[0][0].artifact.evidence(1)
        )


@check("BAK025", "retention-after-failed-backup", category="backup", severity="high", pillar="reliability")
def retention_after_failure(ctx: ScanContext) -> Iterator[Result]:
    """Old backups are deleted only after the new backup succeeded.

    What it does
        In backup scripts that prune (`find -mtime/-mmin ... -delete/-exec rm`, `ls | tail | rm`,
        `restic forget`, `borg prune`), checks that a failed backup step stops the run before the
        pruning: `set -e`, or every step tested (see BAK023).
    Why it matters
        Age-based retention keeps deleting while the backups keep failing: after N days of silent
        failures the last good backup is gone and only empty or partial folders remain. High: data
        loss the day a restore is needed.
    Example
        backup steps without `set -e`, then `find /backup/app-* -mmin +4320 -exec rm -rf {} \\;`
    Fix
        Stop on failure (`set -euo pipefail`), prune only after verifying the new backup, and keep
        at least the N newest *verified* backups rather than deleting by age alone.
    References
        https://www.borgbackup.org/releases/borg-1.2/docs/usage/prune.html
    Severity
        High: after failed runs the pruning deletes the last good backups too: data loss.
    """
    pairs = [(b, s, run_safety(s)) for b, s in _script_pairs(ctx)]
    pairs = [(b, s, rs) for b, s, rs in pairs if rs.retention]
    if not pairs:
        yield Result.not_applicable("no backup script prunes old backups")
        return
    for b, _s, rs in pairs:
        a = b.artifact
        if rs.unchecked:
            ret = rs.retention[0]
            yield Result.fail(
                f"{a.label}:{ret.start + a.line_offset}: old backups are deleted even when this run's "
                f"backup failed ({len(rs.unchecked)} backup step(s) whose failure does not stop the script)",
                a.evidence(ret.start, note="retention runs unconditionally"),
                a.evidence(rs.unchecked[0].start, note="a backup step whose failure is ignored"),
                subject=a.path,
            )
        else:
            yield Result.passed(
                f"{a.label}: pruning runs only after successful backup steps",
                a.evidence(rs.retention[0].start),
            )


@check("BAK026", "restore-wipes-before-verify", category="backup", severity="high", pillar="reliability")
def restore_wipes(ctx: ScanContext) -> Iterator[Result]:
    """A restore does not delete the live data before it knows the archive is good.

    What it does
        In every script, finds `rm -rf DIR/*` (or `rm -rf DIR`) followed by extracting or copying
        a backup into DIR (`tar -x`, `rsync`, `restic restore`, `mbstream -x`, `gunzip | mysql`)
        with no integrity test (`tar -t`, `zstd -t`, `gzip -t`, `sha256sum -c`) before the removal.
        Scratch directories (/tmp, $TMPDIR) are not judged.
    Why it matters
        When the archive is truncated or the extraction fails, the live data is already gone and
        the service is started on an empty or partial data directory. High: a failed restore
        becomes data loss.
    Example
        sh -c "rm -rf /var/lib/mysql/* ; tar -xf /backup/db.tar.zst"
    Fix
        Test the archive first (`zstd -t`, `tar -tf`), extract into a new directory, then swap
        (`mv live live.old && mv new live`), and stop on any error.
    References
        https://mariadb.com/kb/en/full-backup-and-restore-with-mariabackup/#restoring-the-backup
    Severity
        High: a bad archive leaves no data at all, neither the old nor the restored one.
    """
    found = [(a, s, w) for a, s in _all_scripts(ctx) for w in wipes_before_restore(s, with_verified=True)]
    if not found:
        yield Result.not_applicable("no script deletes a directory and then restores into it")
        return
    for a, s, w in found:
        n = physical_line(s, w.wipe, r"\brm\s+-")
        if w.verified:
            yield Result.passed(
                f"{a.label}:{n + a.line_offset}: the archive is tested before {w.path} is deleted for the restore",
                a.evidence(n, note=f"rm -rf {w.path} after an integrity test"),
                subject=f"{a.path}:{w.wipe.start}",
            )
            continue
        m = physical_line(
            s, w.extract, r"\b(tar|rsync|unzip|restore|extract|mysql|psql|mbstream|xbstream|cp)\s+-"
        )
        yield Result.fail(
            f"{a.label}:{n + a.line_offset}: the restore deletes {w.path} before it knows the backup "
            "is good (no integrity test first, no copy of the current data): a bad archive leaves nothing",
            a.evidence(n, note=f"rm -rf {w.path}"),
            a.evidence(m, note="the extraction that may fail"),
            subject=f"{a.path}:{w.wipe.start}",
        )


@check("BAK027", "empty-array-argument", category="backup", severity="high", pillar="reliability")
def empty_array_argument(ctx: ScanContext) -> Iterator[Result]:
    """Optional arguments built as arrays are empty arrays, not one empty string.

    What it does
        In backup scripts, finds a variable set to the empty string (`ARGS=`) and only on some
        path to an array (`ARGS=(--option x)`), then expanded as `"${ARGS[@]}"`: when the array
        branch is not taken, that expansion is one empty argument, not none. Critical when it
        reaches a retention command (`forget`, `prune`, `delete`).
    Why it matters
        Backup tools read a stray "" as an argument: `restic forget "" --prune` takes it as a
        snapshot ID prefix matching every snapshot, ignores the keep policy and deletes the
        newest snapshot (or, with several, applies no retention at all), exit 0.
    Example
        B2_ARG=
        [ -z "${B2_CONNECTIONS+x}" ] || B2_ARG=(--option b2.connections="$B2_CONNECTIONS")
        restic forget "${B2_ARG[@]}" --prune --keep-daily 7
    Fix
        Initialise as an empty array: `B2_ARG=()`.
    References
        https://www.gnu.org/software/bash/manual/html_node/Arrays.html
    Severity
        High: the empty argument changes what the backup tool does; critical when it reaches a retention
        command (it can delete the newest snapshot).
    """
    pairs = _script_pairs(ctx)
    if not pairs:
        yield _no_scripts(ctx)
        return
    bad = False
    for b, s in _all_scripts_of_backups(ctx, pairs):
        for name, line, uses in empty_array_args(s):
            bad = True
            deleting = [u for u in uses if re.search(r"\b(forget|prune|delete|rm)\b", u.text)]
            first = deleting[0] if deleting else uses[0]
            n = physical_line(s, first, re.escape(f'"${{{name}[@]}}"'))
            yield Result.fail(
                f"{b.label}:{line + b.line_offset}: {name}= is the empty string unless the array branch "
                f'runs, so "${{{name}[@]}}" passes ONE empty argument'
                + (
                    f" to a retention command (line {n + b.line_offset}): it can be read as a snapshot id and "
                    "delete the newest backup or skip retention"
                    if deleting
                    else ""
                ),
                b.evidence(line, note=f"{name}= (a scalar, not {name}=())"),
                *(
                    b.evidence(
                        physical_line(s, u, re.escape(f'"${{{name}[@]}}"')), note="one empty argument here"
                    )
                    for u in uses[:5]
                ),
                severity="critical" if deleting else None,
                subject=f"{b.path}:{name}",
            )
    if not bad:
        yield Result.passed(
            "no optional array argument starts as an empty string", pairs[0][0].artifact.evidence(1)
        )


def _all_scripts_of_backups(
    ctx: ScanContext, pairs: list[tuple[BackupScript, ShellScript]]
) -> list[tuple[Artifact, ShellScript]]:
    """Backup scripts and their companions (check/prune scripts of the same tool live beside them)."""
    dirs = {posixpath.dirname(b.artifact.path) for b, _ in pairs}
    return [(a, s) for a, s in _all_scripts(ctx) if posixpath.dirname(a.path) in dirs]


@check("BAK028", "redis-blocking-save", category="backup", severity="low", pillar="performance")
def redis_blocking_save(ctx: ScanContext) -> Iterator[Result]:
    """Redis is dumped with BGSAVE, not the blocking SAVE.

    What it does
        Finds `redis-cli ... save` in scripts.
    Why it matters
        SAVE blocks every Redis client until the dump is on disk; whatever uses Redis (sessions,
        queues, rate limits) stalls for the duration. Low: a latency spike, not data loss.
    Example
        docker exec redis redis-cli save
    Fix
        `redis-cli bgsave`, then wait until `LASTSAVE` changes before copying dump.rdb.
    References
        https://redis.io/docs/latest/commands/save/
    Severity
        Low: SAVE blocks Redis clients for the duration of the dump; a latency spike, not data loss.
    """
    found = [(a, s, ll) for a, s in _all_scripts(ctx) for ll in blocking_saves(s)]
    if not found:
        bg = [(a, s, ll) for a, s in _all_scripts(ctx) for ll in background_saves(s)]
        if bg:
            a, s, ll = bg[0]
            n = physical_line(s, ll, r"\bredis-cli\b")
            yield Result.passed(f"{a.label}:{n + a.line_offset}: Redis is dumped with BGSAVE", a.evidence(n))
            return
        yield Result.not_applicable("no redis-cli save in any script")
        return
    for a, s, ll in found:
        n = physical_line(s, ll, r"\bredis-cli\b")
        yield Result.fail(
            f"{a.label}:{n + a.line_offset}: `redis-cli save` blocks all Redis clients during the dump; use BGSAVE",
            a.evidence(n, note="blocking SAVE"),
            subject=f"{a.path}:{ll.start}",
        )


_ABS_PATH = re.compile(r"(?<![\w.$}-])(/(?:etc|usr|opt|srv|var|bin|sbin)(?:/[\w.@+-]+)+)")


def _mirror_dir(ctx: ScanContext, host_dir: str) -> str | None:
    """The tree directory that mirrors a host directory (`etc/restic/` for /etc/restic), if any,
    found from where the repository keeps files and where its scripts install them."""
    rel = host_dir.strip("/") + "/"
    for f in ctx.index.files:
        if f.startswith(rel) or ("/" + rel) in f:
            return f[: f.index(rel) + len(rel)]
    return None


def _doc_cron_lines(doc: Document) -> Iterator[tuple[int, str, str]]:
    for cb in doc.code_blocks:
        for i, raw in enumerate(cb.text.splitlines()):
            text = raw[1:] if cb.info == "diff" and raw[:1] in "+- " else raw
            e = split_cron_line(text, None)
            if e is not None and not text.lstrip().startswith(("$", "#")):
                yield cb.line + i, e.schedule, e.command


@check("BAK029", "documented-backup-commands", category="backup", severity="medium", pillar="operations")
def documented_backup_commands(ctx: ScanContext) -> Iterator[Result]:
    """Cron lines that documents tell people to install run files the repository really installs.

    What it does
        Reads cron lines in the code blocks of every document (also `diff` blocks) that run one of
        the tree's backup or check scripts, and the host paths they source or run (`. /etc/x/y.sh
        && backup.sh`). When the repository ships that host directory (it has `etc/x/`), the file
        must be among what it ships there.
    Why it matters
        People copy these lines verbatim. In cron's /bin/sh a failed `.` aborts the whole command,
        so a line sourcing a profile that does not exist runs no backup at all, every night,
        without an error anyone reads. Medium: backups stop, but only for those who copy the doc.
    Example
        README: @midnight root . /etc/restic/default.sh && restic_backup.sh   (the profile is default.env.sh)
    Fix
        Use the file name the repository installs, and test the documented snippet in CI.
    References
        https://man7.org/linux/man-pages/man5/crontab.5.html
    Severity
        Medium: copying the documented line gives a job that fails every night; the repository's own
        files are the workaround.
    """
    pairs = _script_pairs(ctx)
    names = {posixpath.basename(a.path) for a, _ in _all_scripts_of_backups(ctx, pairs)} if pairs else set()
    names |= {n for b, _ in pairs for n in b.aliases}
    if not names:
        yield _no_scripts(ctx)
        return
    checked = bad = 0
    missing: dict[tuple[str, str], list[tuple[Artifact, int, str, str]]] = {}
    for art, doc in docs(ctx):
        for line, spec, command in _doc_cron_lines(doc):
            words = {posixpath.basename(w) for w in re.split(r"[\s;&|]+", command) if w}
            if not words & names:
                continue
            checked += 1
            for m in _ABS_PATH.finditer(command):
                path = m.group(1)
                mirror = _mirror_dir(ctx, posixpath.dirname(path))
                if mirror is None or ctx.index.exists(mirror + posixpath.basename(path)):
                    continue
                missing.setdefault((art.path, path), []).append((art, line, spec, mirror))
    for (_, path), hits in missing.items():  # one finding per document and missing file
        bad += 1
        art, line, spec, mirror = hits[0]
        shipped = sorted(
            posixpath.basename(f) for f in ctx.index.files if posixpath.dirname(f) + "/" == mirror
        )
        yield Result.fail(
            f"{art.label}:{line + art.line_offset}: the documented cron line ({spec}) uses {path}, which "
            f"the repository does not install (its {posixpath.dirname(path)}/ holds "
            f"{', '.join(shipped[:5])}); copied as is, the job fails before the backup runs"
            + (f" ({len(hits)} lines)" if len(hits) > 1 else ""),
            *(a.evidence(n, note=f"documented cron line uses {path}") for a, n, _, _ in hits[:10]),
            Evidence(path=mirror.rstrip("/"), note=f"no {posixpath.basename(path)} here"),
            subject=f"{art.path}:{path}",
        )
    if not checked:
        yield Result.not_applicable("no document shows a cron line running this tree's backup scripts")
    elif not bad:
        yield Result.passed(
            f"{checked} documented cron line(s) use files the repository installs",
            pairs[0][0].artifact.evidence(1),
        )


@check("BAK030", "wrapper-keeps-exit-status", category="backup", severity="medium", pillar="reliability")
def wrapper_exit_status(ctx: ScanContext) -> Iterator[Result]:
    """Job wrappers (mail the output, log, notify) pass on the exit status of the job they run.

    What it does
        Finds scripts that run the command they were given (`"$@"`, `eval "$cmd"` with
        `cmd="$*"`) inside a command substitution (`out=$(...)`) and never read `$?` afterwards,
        without `set -e`: the wrapper then exits with the status of its last command.
    Why it matters
        Wrapped around a backup in cron, a failed backup looks like a successful one: cron, the
        mail subject and anything watching the exit code see 0. Medium: failures stay unnoticed
        until the next look at the output.
    Example
        cmd="$*"; body=$(eval "$cmd" 2>&1); echo "$body" | mail -s "$cmd" root
    Fix
        `body=$(eval "$cmd" 2>&1); rc=$?`, put the status in the subject, and `exit "$rc"`.
    References
        https://www.gnu.org/software/bash/manual/html_node/Command-Substitution.html
    Severity
        Medium: failures stay unnoticed until someone reads the output; the job itself is not changed.
    """
    found = [(a, n, lost) for a, s in _all_scripts(ctx) for n, lost in status_wrappers(s)]
    if not found:
        yield Result.not_applicable("no wrapper script runs its arguments in a command substitution")
        return
    for a, n, lost in found:
        if not lost:
            yield Result.passed(
                f"{a.label}:{n + a.line_offset}: the wrapped job's exit status is kept",
                a.evidence(n, note="status read or errexit on"),
                subject=f"{a.path}:{n}",
            )
            continue
        yield Result.fail(
            f"{a.label}:{n + a.line_offset}: runs the job it wraps in $(...) and never reads $?: the "
            "job's failure is lost and the wrapper exits with its last command's status",
            a.evidence(n, note="exit status of the wrapped job dropped"),
            subject=f"{a.path}:{n}",
        )
