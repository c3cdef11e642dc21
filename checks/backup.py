"""Backups: the scripts, their schedules and safety, compared with what the documents promise."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

from chom_validate.checks._dr_util import (
    ObjectiveRow,
    docs,
    documented_retention,
    objective_rows,
    stateful_components,
)

from chom_validate.artifacts import Artifact
from chom_validate.artifacts.backup import CRONTAB_CMD, BackupScript, Step, backup_model
from chom_validate.artifacts.docs import find_dates, format_duration
from chom_validate.artifacts.prometheus import RuleFile
from chom_validate.engine import ScanContext
from chom_validate.findings import Result
from chom_validate.registry import check


def _no_scripts(ctx: ScanContext) -> Result:
    return Result.not_applicable("no backup script found (no mysqldump/xtrabackup/restic/borg or backup*.sh)")


@check(
    "BAK001",
    "backup-scheduled",
    category="backup",
    severity="high",
    pillar="reliability",
    commands=[CRONTAB_CMD],
)
def backup_scheduled(ctx: ScanContext) -> Iterator[Result]:
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
    """
    model = backup_model(ctx)
    if not model.scripts:
        yield _no_scripts(ctx)
        return
    for b in model.scripts:
        scheds = model.schedules_for(b)
        if not scheds:
            yield Result.fail(
                f"{b.artifact.label} is never scheduled: no cron entry or timer runs "
                f"{' / '.join(sorted({b.name, *b.aliases}))}",
                b.artifact.evidence(1, note="backup script without a schedule"),
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
            ev.append(model.scripts[0].artifact.evidence(1, note="backup scripts found do not cover it"))
        yield Result.fail(
            f"{c.label}{where} ({c.why}) is not backed up by any script"
            + (f"; the DR plan still promises RPO {claims[c.key][1].rpo}" if c.key in claims else ""),
            *ev,
            subject=c.key,
        )


_ACCEPTED = re.compile(r"acceptable[ -]loss|not backed up|no backup|rebuil[dt] from", re.I)


@check("BAK003", "retention-matches-docs", category="backup", severity="medium", pillar="compliance")
def retention_matches_docs(ctx: ScanContext) -> Iterator[Result]:
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
    """
    model = backup_model(ctx)
    if not model.scripts:
        yield _no_scripts(ctx)
        return
    documented = documented_retention(ctx)
    for b in model.scripts:
        if not b.retention:
            yield Result.fail(
                f"{b.artifact.label} never prunes old backups (no find -mtime/-delete, no forget/prune)",
                b.artifact.evidence(1, note="no retention logic"),
                *(d.artifact.evidence(d.line, note="documented retention") for d in documented[:1]),
                subject=b.name,
            )
            continue
        r = b.retention[0]
        if r.kind == "age" and r.days is None:
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
        from chom_validate.artifacts.backup import BackupModel

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
def backup_verified(ctx: ScanContext) -> Iterator[Result]:
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
    """
    model = backup_model(ctx)
    if not model.scripts:
        yield _no_scripts(ctx)
        return
    for b in model.scripts:
        if not b.verification:
            yield Result.fail(
                f"{b.artifact.label} never verifies what it wrote (no gzip -t, tar -t, sha256sum -c, check)",
                b.artifact.evidence(1, note="no verification step"),
                subject=b.name,
            )
        else:
            yield from _steps_result(ctx, b, b.verification, "verification")


@check("BAK005", "offsite-copy", category="backup", severity="high", pillar="reliability")
def offsite_copy(ctx: ScanContext) -> Iterator[Result]:
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
    """
    model = backup_model(ctx)
    if not model.scripts:
        yield _no_scripts(ctx)
        return
    for b in model.scripts:
        if not b.offsite:
            yield Result.fail(
                f"{b.artifact.label} keeps backups only on the host itself (no rsync/rclone/s3/restic copy)",
                b.artifact.evidence(1, note="no off-site copy"),
                subject=b.name,
            )
        else:
            yield from _steps_result(ctx, b, b.offsite, "off-site copy")


@check(
    "BAK006", "backup-encrypted", category="backup", severity="medium", pillar="security", profile="hardened"
)
def backup_encrypted(ctx: ScanContext) -> Iterator[Result]:
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
    """
    model = backup_model(ctx)
    if not model.scripts:
        yield _no_scripts(ctx)
        return
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
                b.artifact.evidence(1, note="no encryption step"),
                subject=b.name,
            )


@check(
    "BAK007", "restore-tested", category="backup", severity="high", pillar="reliability", profile="hardened"
)
def restore_tested(ctx: ScanContext) -> Iterator[Result]:
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
    """
    model = backup_model(ctx)
    if not model.scripts:
        yield _no_scripts(ctx)
        return
    if model.restore_tests:
        a = model.restore_tests[0]
        yield Result.passed(f"restore test script {a.label}", a.evidence(1, note="restore test script"))
        return
    max_age = int(ctx.settings("backup").get("restore_test_max_age_days", 90))
    today = ctx.now.date()
    best: tuple[dt.date, object, int, str] | None = None
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
            b0.artifact.evidence(1, note="backups exist but no restore was ever recorded"),
        )
        return
    d, art, line, _ = best
    age = (today - d).days
    ev = art.evidence(line, note=f"restore test dated {d}")  # type: ignore[attr-defined]
    if age > max_age:
        yield Result.fail(f"last recorded restore test {d} is {age} days old (> {max_age})", ev)
    else:
        yield Result.passed(f"restore tested {d} ({age} days ago, window {max_age})", ev)


@check("BAK008", "backup-freshness-alert", category="backup", severity="high", pillar="observability")
def backup_freshness_alert(ctx: ScanContext) -> Iterator[Result]:
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
    """
    model = backup_model(ctx)
    if not model.scripts:
        yield _no_scripts(ctx)
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
        ev.append(model.scripts[0].artifact.evidence(1, note="the script exports no backup metric"))
    ev += [a.evidence(1, note="rule file without a backup alert") for a, _ in rule_files[:3]]
    yield Result.fail(
        f"no alerting rule on backup freshness among {len(alerts)} alert(s) in {len(rule_files)} rule file(s)"
        + (f"; exported metrics: {', '.join(sorted(metrics))}" if metrics else ""),
        *ev,
    )


_CRED_RE = re.compile(
    r"\b(mysqldump|mariadb-dump|mysql|mariadb|mysqlpump|xtrabackup|mariabackup)\b[^|;&]*\s"
    r"(-p(?!\s)\S+|--password=\S+)|\bPGPASSWORD=\S+|\bpg_dump\b[^|;&]*postgres(ql)?://[^:\s]+:[^@\s]+@|"
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
