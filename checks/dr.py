"""Disaster recovery: the DR plan's claims checked against the backups, schedules and files."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

from chom_validate.checks._dr_util import absence_evidence, obligations_na

from chom_validate.api import Context as ScanContext
from chom_validate.artifacts import Artifact
from chom_validate.artifacts.docs import Document, find_dates, format_duration
from chom_validate.facts.backups import CRONTAB_CMD, backup_model
from chom_validate.facts.deployment import deployment
from chom_validate.facts.recovery import (
    docs,
    dr_plans,
    objective_rows,
    objective_tables,
    reference_docs,
    stateful_components,
)
from chom_validate.findings import Evidence, Result
from chom_validate.registry import check


def _no_plan(ctx: ScanContext) -> Result | None:
    """not_applicable when the target holds no documents at all; None when a plan should be there."""
    if not docs(ctx):
        return Result.not_applicable("no Markdown documents in this target (DR plan not part of it)")
    return None


@check("DR001", "rto-rpo-table", category="dr", severity="high", pillar="reliability")
def rto_rpo_table(ctx: ScanContext) -> Iterator[Result]:
    """The DR plan has an RTO/RPO table covering every stateful component.

    What it does
        Finds DR plans (DISASTER_RECOVERY.md, dr-plan.md, or any document with an RTO/RPO
        heading), reads tables with an RPO column (headers like "RPO", "Recovery Point"), and
        checks that every stateful component (from host roles, see BAK002) has a row.
    Why it matters
        Objectives nobody wrote down cannot be designed for, tested or promised to customers; a
        component missing from the table is usually missing from the backups too.
    Example
        | Component | RTO | RPO |   with rows for MySQL only, while Redis and Grafana hold state.
    Fix
        Add one row per stateful component, with RTO, RPO and how it is backed up (or "not backed
        up, acceptable loss" with the reason).
    References
        https://sre.google/workbook/data-processing/
    Severity
        High: a stateful component missing from the objectives is usually missing from the backups
        too; losing it is data loss the plan never accounted for.
    """
    plans = dr_plans(ctx)
    if not plans:
        na = obligations_na(ctx)
        if na is not None:
            yield na
            return
        yield Result.fail(
            "no disaster-recovery plan among the documents (no DISASTER_RECOVERY.md, no RTO/RPO "
            f"section) although this tree is a deployment ({deployment(ctx).reason})",
            absence_evidence(ctx, "no document is a DR plan"),
        )
        return
    comps = stateful_components(ctx)
    for art, doc in plans:
        tables = objective_tables(doc)
        if not tables:
            yield Result.fail(
                f"{art.label} has no RTO/RPO table",
                art.evidence(None, note="no table with an RPO column in the document"),
                subject=art.path,
            )
            continue
        rows = objective_rows(doc)
        named = {r.component for r in rows if r.component}
        missing = [c for c in comps if c.key not in named]
        if missing:
            for c in missing:
                yield Result.fail(
                    f"{art.label}: RTO/RPO table has no row for {c.label} ({c.why}"
                    + (f" on {c.host})" if c.host else ")"),
                    art.evidence(tables[0].line, note=f"rows: {', '.join(r.name for r in rows)}"),
                    *c.evidence,
                    subject=c.key,
                )
        else:
            yield Result.passed(
                f"{art.label}: RTO/RPO table covers {len(comps)} stateful component(s)",
                art.evidence(tables[0].line),
                subject=art.path,
            )


@check(
    "DR002",
    "rpo-vs-backup-interval",
    category="dr",
    severity="high",
    pillar="reliability",
    commands=[CRONTAB_CMD],
)
def rpo_vs_interval(ctx: ScanContext) -> Iterator[Result]:
    """No RPO in the DR plan is shorter than the interval of the backup that covers it.

    What it does
        For each RTO/RPO row with a duration ("1 hour", "15 min", "< 4h"), finds the backup
        scripts covering that component and the schedules running them (cron, timers, cron lines
        installed by scripts), takes the longest gap between two runs, and compares. Evidence is
        the DR table row and the schedule line.
    Why it matters
        An RPO of 1 hour with a nightly dump means up to 24 hours of orders lost in a disaster that
        the plan says costs one hour; the business decided on the wrong numbers.
    Example
        | MySQL | 30 min | 1 hour |   vs   0 2 * * * root /usr/local/bin/chom-backup
    Fix
        Back up as often as the RPO requires (binlog shipping or hourly dumps for 1 hour), or
        write the RPO the schedule really gives.
    References
        https://dev.mysql.com/doc/refman/8.0/en/point-in-time-recovery.html
    Severity
        High: the business plans on losing at most the RPO while a disaster loses up to a whole backup
        interval of data.
    """
    plans = dr_plans(ctx)
    if not plans:
        yield _no_plan(ctx) or Result.not_applicable("no DR plan (reported by DR001)")
        return
    model = backup_model(ctx)
    seen = False
    for art, doc in plans:
        for row in objective_rows(doc):
            if not row.component:
                continue
            rpo = row.rpo_seconds
            if rpo is None:
                seen = True
                yield Result.not_applicable(
                    f"{art.label}: RPO of {row.name} is {row.rpo or 'empty'!r} (unknown, not compared)",
                    art.evidence(row.row.line),
                    subject=row.component,
                )
                continue
            best = None
            for b, _ in model.covering(row.component):
                for s in model.schedules_for(b):
                    if s.interval and (best is None or s.interval < best[1].interval):  # type: ignore[operator]
                        best = (b, s)
            if best is None:
                continue
            seen = True
            b, s = best
            interval = int(s.interval or 0)
            evs = (
                art.evidence(row.row.line, note=f"documented RPO {format_duration(rpo)}"),
                s.artifact.evidence(
                    s.line, note=f"runs {b.name} every {format_duration(interval)} ({s.spec})"
                ),
            )
            if rpo < interval:
                yield Result.fail(
                    f"{art.label}: RPO {row.rpo} for {row.name} is shorter than the backup interval "
                    f"{format_duration(interval)} ({s.spec} in {s.label}); up to {format_duration(interval)} "
                    "of data would be lost",
                    *evs,
                    subject=row.component,
                )
            else:
                yield Result.passed(
                    f"{art.label}: RPO {row.rpo} for {row.name} >= backup interval {format_duration(interval)}",
                    *evs,
                    subject=row.component,
                )
    if not seen:
        yield Result.not_applicable("no RPO row matched a scheduled backup (see BAK001/BAK002)")


_SCENARIO_HEAD = r"scenario|failure mode|disaster (types|cases)|recovery procedures|playbooks?"
_ITEM = re.compile(r"^\s*([-*+]|\d+[.)])\s+\S")


@check("DR003", "dr-scenarios", category="dr", severity="medium", pillar="operations")
def dr_scenarios(ctx: ScanContext) -> Iterator[Result]:
    """The DR plan lists concrete disaster scenarios (at least two).

    What it does
        Looks in each DR plan for a section named like "Scenarios", "Failure modes" or "Recovery
        procedures" and counts its sub-sections (or list items when it has none).
    Why it matters
        Recovery differs per failure: a corrupt table, a lost host and ransomware need different
        steps. A plan without scenarios is improvised on the day.
    Example
        "## Recovery: restore from backups." and nothing else.
    Fix
        One sub-section per scenario (data corruption, host loss, region/provider loss, compromised
        credentials) with numbered steps.
    References
        https://www.ready.gov/business/implementation/IT
    Severity
        Medium: recovery from backups still works but is improvised and slower; no data is lost by
        this alone.
    """
    plans = dr_plans(ctx)
    if not plans:
        yield _no_plan(ctx) or Result.not_applicable("no DR plan (reported by DR001)")
        return
    for art, doc in plans:
        heads = doc.find_headings(_SCENARIO_HEAD)
        if not heads:
            yield Result.fail(
                f"{art.label} lists no disaster scenarios",
                art.evidence(None, note="no Scenarios section in the document"),
            )
            continue
        h = heads[0]
        subs = [x for x in doc.headings if h.line < x.line <= h.end_line and x.level > h.level]
        count = len(subs) or sum(1 for _, ln in doc.section_lines(h) if _ITEM.match(ln))
        if count >= 2:
            yield Result.passed(
                f"{art.label}: {count} scenario(s) under '{h.text}'"
                + (f": {', '.join(s.text for s in subs[:6])}" if subs else ""),
                art.evidence(h.line),
            )
        else:
            yield Result.fail(f"{art.label}: only {count} scenario(s) under '{h.text}'", art.evidence(h.line))


_SCHEDULE_RE = re.compile(
    r"\b(quarterly|monthly|annually|yearly|semi-?annual(ly)?|twice a year|every \d+ (weeks|months)|each (quarter|month))\b",
    re.I,
)


@check("DR004", "dr-test-recency", category="dr", severity="medium", pillar="operations", profile="hardened")
def dr_test_recency(ctx: ScanContext) -> Iterator[Result]:
    """The DR plan states a test schedule and a last-tested date within the window (default 180 days).

    What it does
        In each DR plan, finds a section about testing/drills (or lines saying "last tested"),
        a schedule word (quarterly, monthly, every N months) and the most recent date there; fails
        when there is no schedule, no date, or the date is older than `dr.test_max_age_days`
        (default 180) before the scan time.
    Why it matters
        A plan that has not been exercised is a hypothesis: people, hosts and scripts have changed
        since it was written.
    Example
        "DR drills: TBD"; or "Last tested: 2024-03-02" read at the end of 2026.
    Fix
        Schedule drills (quarterly is common), run them, and record the date, scope, result and the
        measured RTO in the plan.
    References
        https://sre.google/sre-book/testing-reliability/
    Severity
        Medium: an unexercised plan fails in ways nobody has seen yet; recovery is slower, the backups
        still exist.
    """
    plans = dr_plans(ctx)
    if not plans:
        yield _no_plan(ctx) or Result.not_applicable("no DR plan (reported by DR001)")
        return
    max_age = int(ctx.settings("dr").get("test_max_age_days", 180))
    today = ctx.now.date()
    for art, doc in plans:
        heads = doc.find_headings(r"\btest|\bdrill|exercis")
        lines = [ln for h in heads for ln in doc.section_lines(h)]
        lines += [(n, t) for n, t in doc.text_lines() if re.search(r"last (tested|drill|exercised)", t, re.I)]
        if not lines:
            yield Result.fail(
                f"{art.label} says nothing about DR tests or drills",
                art.evidence(None, note="no DR testing section in the document"),
            )
            continue
        sched = next(((n, t) for n, t in lines if _SCHEDULE_RE.search(t)), None)
        dates = [(d, n) for n, t in lines for d in find_dates(t) if d <= today]
        if not sched:
            yield Result.fail(
                f"{art.label}: no DR test schedule (quarterly, monthly, every N months)",
                art.evidence(lines[0][0], note="testing section without a schedule"),
            )
        if not dates:
            yield Result.fail(
                f"{art.label}: no last-tested date in the DR testing section",
                art.evidence(lines[0][0], note="no date (YYYY-MM-DD)"),
            )
            continue
        d, n = max(dates)
        age = (today - d).days
        if age > max_age:
            yield Result.fail(
                f"{art.label}: last DR test {d} is {age} days old (> {max_age})", art.evidence(n)
            )
        elif sched:
            yield Result.passed(
                f"{art.label}: DR tests scheduled and last run {d} ({age} days ago)",
                art.evidence(sched[0], note="schedule"),
                art.evidence(n, note="last test"),
            )


_PATH_TOKEN = re.compile(
    r"(?<![\w/.:$~{}@-])(?P<p>(?:\.{1,2}/)?[A-Za-z0-9_][\w.-]*(?:/[\w.-]+)+\.(?:sh|bash|py|pl|rb|php|ya?ml|conf|cnf|service|timer|sql|json|md|j2))(?![\w/-])"
)
_SCRIPT_EXT = (".sh", ".bash", ".py", ".pl", ".rb")
# A shell function named restore*: `restore_db() {` / `function restore {` ([ \t], not \s: linear).
_RESTORE_FUNC = re.compile(r"^[ \t]*(?:function[ \t]+)?restore\w*[ \t]*\(", re.M)
_ASSIGN = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=([\"']?)([^\s\"';&|]*)\2\s*$")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
# Commands that create the file (or directory) named by their argument: a later line of the same
# block may then use it. `cd`/`pushd`/`git clone` move or fetch: relative paths after them are unknown.
_CREATES = re.compile(
    r"(?:>>?\s*|\btee\s+(?:-a\s+)?|\btouch\s+|\bmkdir\s+(?:-p\s+)?|-o\s+|-O\s+|--output[= ])[\"']?(?P<p>[\w./${}-]+)"
)
_MOVES = re.compile(r"(^|[;&|]\s*)(cd|pushd|git\s+clone|tar\s+-?x|unzip|curl|wget)\b")
_COPY_DEST = re.compile(r"^\s*(?:sudo\s+)?(?:cp|mv|install|ln)\s+.*\s[\"']?(?P<p>[\w./${}-]+)[\"']?\s*$")
_WORKSTATION = re.compile(r"^(/home/[^/\s]+|/Users/[^/\s]+|[A-Za-z]:\\Users\\[^\\\s]+)")


def _exists(ctx: ScanContext, doc_path: str, ref: str) -> bool:
    ref = ref.split("#", 1)[0].split("?", 1)[0]
    base = posixpath.dirname(doc_path)
    cands = {
        posixpath.normpath(ref.lstrip("./")) if not ref.startswith("..") else "",
        posixpath.normpath(posixpath.join(base, ref)),
    }
    files = ctx.index.files
    for c in cands:
        if not c or c.startswith(".."):
            continue
        if ctx.index.exists(c) or any(f.startswith(c.rstrip("/") + "/") for f in files):
            return True
        # repository layouts: docs may name paths relative to a sub-tree (scripts/x.sh under deploy/)
        if any(f.endswith("/" + c) for f in files):
            return True
    return False


def _block_refs(text: str, first_line: int) -> list[tuple[int, str]]:
    """Path references of one code block, with block-local variables resolved; references to
    files the block itself creates, and anything after a `cd` or a fetch, are left out."""
    env: dict[str, str] = {}
    created: set[str] = set()
    out: list[tuple[int, str]] = []
    for i, raw in enumerate(text.splitlines()):
        line = raw.strip()
        if line.startswith("#"):
            continue
        m = _ASSIGN.match(line)
        if m:
            env[m.group(1)] = _VAR.sub(lambda v: env.get(v.group(1) or v.group(2), v.group(0)), m.group(3))
            continue
        line = _VAR.sub(lambda v: env.get(v.group(1) or v.group(2), v.group(0)), line)
        moved = _MOVES.search(line)
        refs = [p.group("p") for p in _PATH_TOKEN.finditer(line[: moved.start()] if moved else line)]
        made = {c.group("p").lstrip("./") for c in _CREATES.finditer(line)}
        cp = _COPY_DEST.match(line)
        if cp:
            made.add(cp.group("p").lstrip("./"))
        out += [(first_line + i, r) for r in refs if r.lstrip("./") not in created | made]
        created |= made
        if moved:
            break  # the working directory or the tree changed: later relative paths are unknown
    return out


def _references(doc: Document) -> list[tuple[int, str]]:
    """Paths in commands: code blocks, and inline code that is a command line or names a script."""
    out = []
    for ic in doc.inline_code:
        if " " in ic.text.strip() or ic.text.strip().endswith(_SCRIPT_EXT):
            out += _block_refs(ic.text, ic.line)
    for cb in doc.code_blocks:
        out += _block_refs(cb.text, cb.line)
    return out


@check("DR005", "doc-references-exist", category="dr", severity="medium", pillar="operations")
def doc_references_exist(ctx: ScanContext) -> Iterator[Result]:
    """Scripts and files that DR plans and runbooks tell people to run exist.

    What it does
        In DR plans, runbooks, incident plans and restore/rollback procedures (recognised by name,
        place or headings; proposals and changelogs are not judged), collects relative paths with a
        file extension from code blocks and from inline code that is a command or names a script
        (`scripts/restore-redis.sh`), and looks them up in the target, relative to the repository
        root or the document. Variables assigned in the same block are resolved, other `$VARS`
        leave the path unknown; a file the block itself creates (`> x`, `tee`, `cp ... x`) is not
        missing, and paths after a `cd` or a download are not judged. Host paths (`/etc/...`) are
        not judged on a repository scan.
    Why it matters
        During an incident, "run scripts/restore-redis.sh" followed by "No such file or directory"
        costs the time the runbook was meant to save. Medium: it slows recovery, it does not by
        itself lose data.
    Example
        docs/runbooks/instance-down.md: restore the snapshot with `scripts/restore-redis.sh`
    Fix
        Add the script (and test it), or update the document to the command that really works.
    References
        https://sre.google/sre-book/being-on-call/
    Severity
        Medium: a missing script costs time during recovery; it does not by itself lose data.
    """
    arts = reference_docs(ctx)
    if not arts:
        yield Result.not_applicable("no DR plan, runbook, incident plan or restore procedure in this target")
        return
    total = bad = 0
    nfiles = len(ctx.index.files)
    for art, doc in arts:
        for line, ref in _references(doc):
            if any(ch in ref for ch in "<>*$"):
                continue
            total += 1
            if _exists(ctx, art.path, ref):
                continue
            bad += 1
            stem = posixpath.basename(ref)
            similar = sorted(
                f
                for f in ctx.index.files
                if posixpath.basename(f).split(".")[0].split("-")[0] == stem.split("-")[0]
            )[:3]
            yield Result.fail(
                f"{art.label}:{line + art.line_offset} references `{ref}`, which does not exist in the target",
                art.evidence(line, note=f"referenced path `{ref}`"),
                Evidence(
                    path=posixpath.dirname(ref) or ".",
                    note=f"no {stem} among {nfiles} files"
                    + (f"; similar: {', '.join(similar)}" if similar else ""),
                ),
                subject=ref,
            )
    if total and not bad:
        yield Result.passed(
            f"{total} path reference(s) in {len(arts)} document(s) checked", arts[0][0].evidence(1)
        )
    elif not total:
        yield Result.not_applicable("no relative script/file paths referenced in documents")


def _slug(text: str) -> str:
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text.strip().lower()))


@check("DR006", "dead-relative-links", category="dr", severity="low", pillar="operations")
def dead_links(ctx: ScanContext) -> Iterator[Result]:
    """Relative links in documents point to files (and headings) that exist.

    What it does
        Resolves every relative Markdown link against the document's directory; the file (or
        directory) must exist, and a `#fragment` must match a heading of the linked document
        (GitHub-style slug).
    Why it matters
        A plan whose "see the MySQL runbook" link is dead sends people searching at 3 a.m.
    Example
        [MySQL runbook](runbooks/mysql.md) after the file was renamed to mysql-down.md.
    Fix
        Fix the link or restore the file; run this check in CI on documentation changes.
    References
        https://docs.github.com/en/get-started/writing-on-github
    Severity
        Low: documentation hygiene; the linked text usually still exists under another name.
    """
    arts = reference_docs(ctx)
    if not arts:
        yield Result.not_applicable("no DR plan, runbook, incident plan or restore procedure in this target")
        return
    by_path = {a.path: d for a, d in docs(ctx)}
    checked = bad = 0
    workstation: list[tuple[Artifact, int, str]] = []
    for art, doc in arts:
        for link in doc.links:
            href = link.href
            if href and (_WORKSTATION.match(href) or href.startswith("file://")):
                workstation.append((art, link.line, href))  # reported once below
                continue
            if not href or re.match(r"^[a-z][a-z0-9+.-]*:", href, re.I) or href.startswith("//"):
                continue
            path, _, frag = href.partition("#")
            checked += 1
            target = (
                posixpath.normpath(posixpath.join(posixpath.dirname(art.path), path)) if path else art.path
            )
            if path and not _exists(ctx, art.path, path):
                bad += 1
                yield Result.fail(
                    f"{art.label}:{link.line + art.line_offset}: link to {href} is dead ({target} does not exist)",
                    art.evidence(link.line, note=f"link target {target}"),
                    subject=href,
                )
                continue
            linked = by_path.get(target)
            if frag and linked is not None and _slug(frag) not in {_slug(h.text) for h in linked.headings}:
                bad += 1
                yield Result.fail(
                    f"{art.label}:{link.line + art.line_offset}: {target} has no heading #{frag}",
                    art.evidence(link.line, note="anchor not found"),
                    subject=href,
                )
    if workstation:
        bad += 1
        href0 = workstation[0][2]
        yield Result.fail(
            f"{len(workstation)} link(s) point into someone's workstation ({href0}...): they work for "
            "nobody else",
            *(a.evidence(n, note=f"link {h}") for a, n, h in workstation[:20]),
            subject="workstation-paths",
        )
    if checked and not bad:
        yield Result.passed(
            f"{checked} relative link(s) checked in {len(arts)} document(s)", arts[0][0].evidence(1)
        )
    elif not checked and not bad:
        yield Result.not_applicable("no relative links in documents")


_RESTORE_CMD = re.compile(
    r"\b(restic|rustic)\b.*\b(restore|dump)\b|\bborg\s+extract\b|\bpg_restore\b|"
    r"\btar\b[^|;&]*\s-?-?[a-zA-Z]*x[a-zA-Z]*f?\b|\b(gunzip|zcat|zstdcat|xzcat)\b.*\|\s*(mysql|mariadb|psql)\b|"
    r"\b(mysql|mariadb|psql)\b[^|]*<\s*\S+|\bmariabackup\s+--copy-back\b|\bxtrabackup\s+--copy-back\b|"
    r"\bduplicity\s+restore\b|\bkopia\s+(snapshot\s+)?restore\b|\brclone\s+copy\b.*\brestore"
)
_KEY_LINE = re.compile(
    r"(pw\.txt|password[-_.]?file|passphrase|key[-_]?file|\bRESTIC_PASSWORD\w*|\bBORG_PASS\w*|encryption key|"
    r"repository (password|key))",
    re.I,
)


def _restore_procedure(ctx: ScanContext) -> tuple[Artifact, int, str] | None:
    for art, doc in docs(ctx):
        for cb in doc.code_blocks:
            for i, ln in enumerate(cb.text.splitlines()):
                if _RESTORE_CMD.search(ln):
                    return art, cb.line + i, "restore command in a document"
        heads = doc.find_headings(r"\brestor|\brecover")
        if heads:
            return art, heads[0].line, f"section '{heads[0].text}'"
    for a in ctx.artifacts("shell"):
        name = posixpath.basename(a.path).lower()
        if "restore" in name or _RESTORE_FUNC.search(a.text):
            return a, 1, "restore script"
        for n, ln in enumerate(a.lines, 1):
            if _RESTORE_CMD.search(ln) and not ln.lstrip().startswith("#"):
                return a, n, "restore command in a script"
    return None


@check("DR020", "restore-procedure-documented", category="dr", severity="high", pillar="reliability")
def restore_procedure(ctx: ScanContext) -> Iterator[Result]:
    """Backups come with a restore procedure, and the key to open them is kept off the host.

    What it does
        When the tree writes backups (a backup script, see BAK001), looks for a restore procedure:
        a document with a restore/recovery section or a restore command in a code block (`restic
        restore`, `borg extract`, `tar -x`, `pg_restore`, `mysql < dump`), or a restore script.
        Without one, points at the place where the documents create the repository password or
        key: a restore needs it, and it lives only on the machine being backed up.
    Why it matters
        A backup nobody knows how to restore is discovered on the worst day; an encrypted backup
        whose only key is on the lost disk cannot be restored at all. High: data loss in the very
        disaster the backup exists for.
    Example
        README: "generate pw.txt with openssl rand ..." and no word on restoring or keeping a copy.
    Fix
        Document the restore (list snapshots, restore a file, restore everything, verify), keep
        the password/key in a password manager or vault off the host, and drill it (BAK007).
    References
        https://restic.readthedocs.io/en/stable/050_restore.html
    Severity
        High: a backup nobody can restore, or whose key is only on the lost host, is data loss in the
        very disaster it exists for.
    """
    model = backup_model(ctx)
    if not model.scripts:
        yield Result.not_applicable("no backup script in this target")
        return
    found = _restore_procedure(ctx)
    if found is not None:
        art, line, what = found
        yield Result.passed(f"restore procedure: {what} ({art.label})", art.evidence(line))
        return
    created: list[Evidence] = []
    mentioned: list[Evidence] = []
    for art, doc in docs(ctx):
        if re.search(r"change|history|news", posixpath.basename(art.path), re.I):
            continue  # release notes mention keys; the setup instructions are what people follow
        for cb in doc.code_blocks:
            for i, ln in enumerate(cb.text.splitlines()):
                if _KEY_LINE.search(ln):
                    made = bool(re.search(r">|\btee\b|openssl\s+rand|pwgen|/dev/urandom|gpg\s+--gen", ln))
                    (created if made else mentioned).append(
                        art.evidence(cb.line + i, note="the key a restore needs, created on this host only")
                    )
    evs = created or mentioned
    b = model.scripts[0]
    yield Result.fail(
        f"{b.artifact.label} writes backups, but no document or script says how to restore them"
        + (" and the repository key the documents create stays only on the backed-up host" if evs else ""),
        *evs[:3],
        b.artifact.evidence(None, note="backup script"),
    )
