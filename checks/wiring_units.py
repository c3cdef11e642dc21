"""Unit wiring: the unit names a unit depends on exist, and the scripts units run do not trust
fixed names in world-writable directories."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from chom_validate.checks._live_util import NOT_LIVE, cmd_evidence, live_capable, live_command

from chom_validate.api import Context as ScanContext
from chom_validate.artifacts import Artifact
from chom_validate.artifacts.shell import ShellScript
from chom_validate.artifacts.systemd import Unit
from chom_validate.facts.wiring import (
    EFFECT,
    HARD_KEYS,
    ORDER_KEYS,
    SPECIAL_UNITS,
    UnitRef,
    fixed_tmp_paths,
    near_names,
    parse_list_unit_files,
    plain_of_template,
    resolves,
    runtime_unit,
    unit_refs,
    version_index,
)
from chom_validate.findings import Result
from chom_validate.registry import check

LIST_UNIT_FILES = ("systemctl", "list-unit-files", "--no-legend", "--plain", "--full")


def _units(ctx: ScanContext) -> dict[str, tuple[Artifact, Unit]]:
    return {u.name: (a, u) for a, u in ctx.parsed("systemd_unit") if isinstance(u, Unit)}


def _group(refs: list[UnitRef]) -> dict[tuple[str, str], list[UnitRef]]:
    out: dict[tuple[str, str], list[UnitRef]] = {}
    for r in refs:
        out.setdefault((r.unit.name, r.name), []).append(r)
    return out


def _keys(rs: list[UnitRef]) -> str:
    return "/".join(dict.fromkeys(f"{r.key}=" for r in rs))


def _worst_effect(rs: list[UnitRef]) -> str:
    for r in rs:
        if r.key in HARD_KEYS:
            return EFFECT[r.key]
    return EFFECT[rs[0].key]


@check("SYS027", "unit-references-exist", category="systemd", severity="high", pillar="reliability")
def unit_references_exist(ctx: ScanContext) -> Iterator[Result]:
    """Units named by `Requires=`, `Conflicts=`, `OnFailure=`, `After=`... exist.

    What it does
        Reads every dependency key of every unit (`Requires=`, `Requisite=`, `BindsTo=`,
        `Conflicts=`, `OnFailure=`, `OnSuccess=`, `PartOf=`, `Wants=`, `Upholds=`, `After=`,
        `Before=`, with `%i`/`%n`... resolved). On a tree it reports a plain `X.service` when the
        tree defines only the template `X@.service` (a template is loaded only as
        `X@NAME.service`, never under its plain name), and leaves names the tree does not define
        (distribution units) as not applicable. On `--host`/`--snapshot` it compares every name
        with the host's unit files (`systemctl list-unit-files`): a hard dependency or a
        `Conflicts=`/`OnFailure=` on a unit the host does not have fails, and so does an
        `After=`/`Before=` whose name differs only by a version from a unit the host has
        (`php-fpm.service` where Debian installs `php8.2-fpm.service`).
    Why it matters
        Nothing warns at install time. `Requires=` on a missing unit keeps the service from
        starting; `Conflicts=restic-backup.service` meant to keep a check away from the backup
        never fires, so both take the repository lock and one fails; an `OnFailure=` that names
        nothing sends no failure mail; `After=php-fpm.service` on Debian orders nothing.
    Example
        restic-check@.service: Conflicts=restic-backup.service   (only restic-backup@.service exists)
        chom-worker.service: After=php-fpm.service Requires=php-fpm.service   (host has php8.2-fpm.service)
    Fix
        Name the instance (`Conflicts=restic-backup@%i.service`) or the unit the distribution
        really installs (`php8.2-fpm.service`, or a template variable per distribution). For
        serialising jobs prefer a shared lock (`flock`) over `Conflicts=`, which stops the other.
    References
        https://www.freedesktop.org/software/systemd/man/latest/systemd.unit.html
    Severity
        High: a dependency on a unit that cannot exist keeps a service from starting (Requires=)
        or silently drops the ordering, conflict or failure mail it was written for.
    """
    units = _units(ctx)
    if not units:
        yield Result.not_applicable("no systemd units in this target")
        return
    known = set(units) | SPECIAL_UNITS
    refs = sorted(
        (r for r in unit_refs(units) if not runtime_unit(r.name)),
        key=lambda r: (r.artifact.path, r.line, r.name),
    )
    if not refs:
        yield Result.not_applicable(f"no dependency keys in {len(units)} unit(s)")
        return
    failed = 0
    external: dict[tuple[str, str], list[UnitRef]] = {}
    for (uname, name), rs in _group(refs).items():
        if resolves(name, known):
            continue
        tmpl = plain_of_template(name, known)
        if tmpl is None:
            external[(uname, name)] = rs
            continue
        failed += 1
        yield Result.fail(
            f"{rs[0].artifact.label}:{rs[0].line + rs[0].artifact.line_offset}: {_keys(rs)}{name} names a "
            f"unit that cannot exist: the target defines only the template {tmpl} (instances are "
            f"{tmpl.replace('@.', '@NAME.')}), so {_worst_effect(rs)}",
            *(r.artifact.evidence(r.line, note=f"{r.key}= names {name}") for r in rs),
            units[tmpl][0].evidence(None, note=f"the template {tmpl}"),
            subject=f"{uname}:{name}",
        )
    resolved = len(refs) - sum(map(len, external.values()))
    if not failed and resolved:
        first = refs[0]
        yield Result.passed(
            f"{resolved} unit reference(s) in {len(units)} unit(s) resolve to units of this target or of systemd itself",
            first.artifact.evidence(first.line),
        )
    if external:
        names = sorted({n for _, n in external})
        yield Result.not_applicable(
            f"{len(names)} referenced unit(s) are not defined here ({', '.join(names[:6])}"
            f"{', ...' if len(names) > 6 else ''}): whether the distribution installs them is "
            "checked on --host/--snapshot (LIV010)",
            subject="external-units",
        )


@check(
    "LIV010",
    "live-unit-references-exist",
    category="systemd",
    severity="high",
    pillar="reliability",
    commands=[list(LIST_UNIT_FILES)],
)
def live_unit_references_exist(ctx: ScanContext) -> Iterator[Result]:
    """Unit names the target's units depend on are installed on the host.

    What it does
        On `--host`/`--snapshot`, takes the dependency names SYS027 cannot resolve in the files
        (`Requires=`, `Conflicts=`, `OnFailure=`, `After=`... naming distribution units) and
        compares them with the host's unit files (`systemctl list-unit-files`). A hard
        dependency, `Conflicts=`, `OnFailure=` or `Wants=` on a unit the host does not have fails,
        and so does an `After=`/`Before=` whose name differs only by a version from a unit the host
        has (`php-fpm.service` where Debian installs `php8.2-fpm.service`). An `After=` on an
        absent unit with no such sibling is deliberate portability (mysql/mariadb) and passes.
    Why it matters
        `Requires=` on a missing unit keeps the service from starting; `After=php-fpm.service` on
        Debian orders nothing, so the worker starts before PHP-FPM; an `OnFailure=` that names
        nothing sends no failure mail.
    Example
        chom-worker.service: After=php-fpm.service Requires=php-fpm.service   (host has php8.2-fpm.service)
    Fix
        Name the unit the distribution really installs (`php8.2-fpm.service`), or template the
        name per distribution.
    References
        https://www.freedesktop.org/software/systemd/man/latest/systemd.unit.html
    Severity
        High: on this host a Requires= on the missing unit keeps the service from starting, and
        OnFailure=/Conflicts= on it do nothing.
    """
    if not live_capable(ctx):
        yield Result.not_applicable(NOT_LIVE, subject=ctx.name)
        return
    units = _units(ctx)
    known = set(units) | SPECIAL_UNITS
    refs = sorted(
        (r for r in unit_refs(units) if not runtime_unit(r.name)),
        key=lambda r: (r.artifact.path, r.line, r.name),
    )
    external = {
        k: rs
        for k, rs in _group(refs).items()
        if not resolves(k[1], known) and plain_of_template(k[1], known) is None
    }
    if not external:
        yield Result.not_applicable(f"every unit reference on {ctx.name} resolves to its unit files (SYS027)")
        return
    failed = 0
    res, problem = live_command(ctx, LIST_UNIT_FILES)
    if res is None:
        yield problem or Result.error("no systemctl output", subject=ctx.name)
        return
    host = parse_list_unit_files(res.stdout)
    if not host:
        yield Result.error(
            f"`{' '.join(LIST_UNIT_FILES)}` listed no unit files on {ctx.name}", subject=ctx.name
        )
        return
    all_known = host | known
    idx = version_index(all_known)
    checked = 0
    for (uname, name), rs in external.items():
        checked += 1
        if resolves(name, all_known):
            continue
        near = near_names(name, all_known, idx)
        binding = [r for r in rs if r.key not in ORDER_KEYS]
        if not binding and not near:
            continue  # After=/Before= on an absent unit: deliberate portability (mysql/mariadb)
        shown = binding or rs
        hint = f"; the host has {', '.join(near[:3])}" if near else ""
        yield Result.fail(
            f"{shown[0].artifact.label}:{shown[0].line + shown[0].artifact.line_offset}: {_keys(shown)}{name} "
            f"names a unit {ctx.name} does not have{hint}, so {_worst_effect(shown)}",
            *(r.artifact.evidence(r.line, note=f"{r.key}= names {name}") for r in shown),
            cmd_evidence(
                ctx,
                res,
                "\n".join(near[:3]) or None,
                note=f"{len(host)} unit files on {ctx.name}, none named {name}",
            ),
            subject=f"{uname}:{name}",
        )
        failed += 1
    if not failed:
        yield Result.passed(
            f"{checked} unit name(s) not defined in the unit files resolve against {ctx.name}'s units",
            cmd_evidence(ctx, res),
        )


def _unit_scripts(
    ctx: ScanContext, units: dict[str, tuple[Artifact, Unit]]
) -> list[tuple[Artifact, Unit, int, Artifact, ShellScript]]:
    """(unit artifact, unit, ExecStart line, script artifact, script) for units whose Exec* line
    runs a shell script of this target (matched by install path, or by file name)."""
    scripts = [(a, s) for a, s in ctx.parsed("shell") if isinstance(s, ShellScript) and not a.embedded]
    by_install: dict[str, tuple[Artifact, ShellScript]] = {}
    by_name: dict[str, list[tuple[Artifact, ShellScript]]] = {}
    for a, s in scripts:
        if a.install_path:
            by_install[a.install_path] = (a, s)
        by_name.setdefault(posixpath.basename(a.path), []).append((a, s))
    out = []
    for uart, u in units.values():
        for key in ("ExecStart", "ExecStartPre", "ExecStartPost", "ExecStop"):
            for d in u.entries("Service", key):
                words = d.value.lstrip("-@:+!").split()
                for w in words[:3]:  # the program, or the script after an interpreter
                    if "/" not in w:
                        continue
                    hit = by_install.get(w)
                    cands = [hit] if hit else by_name.get(posixpath.basename(w), [])
                    if len(cands) == 1:
                        out.append((uart, u, d.line, cands[0][0], cands[0][1]))
                        break
    return out


@check("SYS028", "unit-script-fixed-tmp-path", category="systemd", severity="medium", pillar="security")
def unit_script_fixed_tmp_path(ctx: ScanContext) -> Iterator[Result]:
    """Scripts that systemd units run keep no state in fixed names under /tmp without PrivateTmp.

    What it does
        Follows each unit's `ExecStart=` (and `ExecStartPre/Post=`, `ExecStop=`) to the shell
        script of the same repository it runs, and reports fixed, predictable paths in a
        world-writable directory (`/tmp/NAME`, `/var/tmp/NAME`, `/dev/shm/NAME`, names built from
        constants or `$(basename "$0")`, not from `mktemp`/`$$`) when the unit has no
        `PrivateTmp=yes` (which gives the unit its own /tmp).
    Why it matters
        Any local user can create that name first: a stamp file used for rate limiting is kept
        fresh by someone else and the failure mails of a root unit are never sent; a lock or
        output file can be a symlink to a file root then overwrites. The name is also shared by
        every instance of a template unit, so a second failing instance is silently skipped.
    Example
        status-email-user@.service: ExecStart=/usr/local/bin/systemd-email ... (no PrivateTmp)
        systemd-email: LAST_RUN_FILE="/tmp/${SCRIPT_NAME}_last_run.txt"
    Fix
        Keep state in `StateDirectory=`/`RuntimeDirectory=` (`$STATE_DIRECTORY`), per instance
        (`%i`), or create temporary files with `mktemp`; set `PrivateTmp=yes` on the unit.
    References
        https://www.freedesktop.org/software/systemd/man/latest/systemd.exec.html#PrivateTmp=
    Severity
        Medium: a local user can suppress failure mails or redirect a root write through a symlink;
        it needs a local account, so it is not a remote breach.
    """
    units = _units(ctx)
    pairs = sorted(_unit_scripts(ctx, units), key=lambda p: (p[0].path, p[2], p[3].path))
    if not pairs:
        yield Result.not_applicable("no unit runs a shell script of this target")
        return
    seen: set[tuple[str, str]] = set()
    failed = 0
    for uart, u, line, sart, script in pairs:
        if u.get_bool("Service", "PrivateTmp"):
            continue
        assigns = {name: value for name, value, _ in script.assignments}
        hits = fixed_tmp_paths(sart.text, assigns)
        if not hits or (u.name, sart.path) in seen:
            continue
        seen.add((u.name, sart.path))
        failed += 1
        paths = list(dict.fromkeys(p for _, p in hits))
        yield Result.fail(
            f"{u.name} runs {sart.label}, which uses fixed path(s) in a world-writable directory "
            f"({', '.join(paths[:3])}) and the unit has no PrivateTmp=yes: any local user can "
            "create or hold that name first",
            uart.evidence(line, note="runs the script, no PrivateTmp="),
            *(sart.evidence(n, note=f"fixed path {p}") for n, p in hits[:5]),
            subject=f"{u.name}|{sart.path}",
        )
    if not failed:
        uart, u, line, sart, _ = pairs[0]
        yield Result.passed(
            f"{len(pairs)} script(s) run by units keep no fixed names in /tmp (or the unit has PrivateTmp=)",
            uart.evidence(line),
        )
