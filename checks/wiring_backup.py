"""Backup scripts of one repository agree on what their environment must provide."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass

from chom_validate.api import Context as ScanContext
from chom_validate.artifacts import Artifact
from chom_validate.artifacts.shell import Command, ShellScript
from chom_validate.facts.backups import _family
from chom_validate.facts.shell_program import ShellProgram, program_for, shell_programs
from chom_validate.facts.wiring import EnvPreconditions, env_preconditions
from chom_validate.findings import Evidence, Result
from chom_validate.registry import check


@check("BAK032", "sibling-env-preconditions", category="backup", severity="low", pillar="reliability")
def sibling_env_preconditions(ctx: ScanContext) -> Iterator[Result]:
    """Scripts of one backup tool do not require what their siblings treat as optional.

    What it does
        For the shell scripts of one backup tool or name family (`restic_backup.sh`,
        `restic_check.sh`...), reads which environment variables each refuses to run without
        (a checker function that exits, `${VAR:?}`) and which each declares optional (a checker
        function that only warns, `${VAR:-default}`). Reports a script that asserts a variable a
        sibling declares optional.
    Why it matters
        The profiles are written for the script that accepts alternatives (`RESTIC_PASSWORD`
        or `RESTIC_PASSWORD_COMMAND` instead of `RESTIC_PASSWORD_FILE`); with such a profile the
        sibling exits 1 on every run, so the monthly check or the prune never happens and only a
        log line says why.
    Example
        restic_check.sh:  assert_envvars RESTIC_PASSWORD_FILE RESTIC_REPOSITORY
        restic_backup.sh: warn_on_missing_envvars RESTIC_PASSWORD_FILE
    Fix
        Make the scripts share one precondition list (a sourced library), or assert the same
        alternatives in both.
    References
        https://restic.readthedocs.io/en/stable/040_backup.html#environment-variables
    Severity
        Low: the sibling job (check/prune) stops on profiles the backup accepts; backups themselves
        still run.
    """
    scripts: list[tuple[Artifact, ShellScript, str, EnvPreconditions]] = []
    for a, s in ctx.parsed("shell"):
        if not isinstance(s, ShellScript) or a.embedded:
            continue
        fam = _family(posixpath.basename(a.path))
        if fam is None:
            continue
        pre = env_preconditions(s.lines, s.functions)
        if pre.required or pre.optional:
            scripts.append((a, s, fam, pre))
    scripts.sort(key=lambda t: t[0].path)
    pairs = 0
    failed = 0
    for a, _, fam, pre in scripts:
        for b, _, fam_b, pre_b in scripts:
            if b is a or fam_b != fam:
                continue
            pairs += 1
            clash = sorted(
                v
                for v in pre.required
                if v in pre_b.optional and v not in pre_b.required and v not in pre.optional
            )
            if not clash:
                continue
            failed += 1
            yield Result.fail(
                f"{a.label} refuses to run without {', '.join(clash)}, which {b.label} (same {fam} "
                "profile) treats as optional: with another source configured this script exits 1 every run",
                *(a.evidence(pre.required[v], note=f"{v} asserted") for v in clash[:3]),
                *(b.evidence(pre_b.optional[v], note=f"{v} optional here") for v in clash[:3]),
                subject=f"{a.path}|{b.path}",
            )
    if not scripts or not pairs:
        yield Result.not_applicable("no sibling scripts of one backup tool with environment preconditions")
    elif not failed:
        yield Result.passed(
            f"{len(scripts)} sibling backup script(s) agree on their required environment",
            scripts[0][0].evidence(1),
        )


# -- BAK033: archives holding secrets written world-readable ---------------------------------------------

_DUMPERS = re.compile(
    r"(?:^|[\s;|&(/])(mysqldump|mariadb-dump|pg_dump|pg_dumpall|mongodump|mariabackup|xtrabackup|redis-cli\s+[^|]*--rdb|"
    r"sqlite3\s+\S+\s+\.dump|slapcat|etcdctl\s+[^|]*snapshot\s+save)\b"
)
_ENCRYPT = re.compile(r"\b(gpg|age|openssl\s+(?:enc|smime)|ccrypt|restic|borg|rclone\s+crypt)\b")
_SECRET_SRC = re.compile(
    r"(\.env\b|secret|private|\.key\b|\.pem\b|/etc/ssl|letsencrypt|\.ssh\b|crypt|credential|passw|token|"
    r"mysql|mariadb|postgres|pgdata|redis|vault|shadow|\.my\.cnf|wp-config|mailcow\.conf|^/etc/?$)",
    re.I,
)
_CLOSED_MODE = re.compile(
    r"^(?:0?[0-7]?[0-7][0-7]0|[ugoa]*o[ugoa]*[-=][rwx]*|go-[rwx]+|g?o-[rwx]+|u=rwx?,go=|og-[rwx]+)$"
)
_CLOSED_UMASK = re.compile(r"^0?[0-7]?[0-7][4-7]$|^0?[0-7][0-7][4-7]$")
_UNIT_UMASK = re.compile(r"^\s*UMask\s*=\s*0?[0-7]?[0-7][4-7]\s*$", re.M)


def _norm(p: str) -> str:
    return re.sub(r"\$\{(\w+)\}", r"$\1", p.strip("\"'")).rstrip("/")


def _under(target: str, prefix: str) -> bool:
    t, p = _norm(target), _norm(prefix)
    return bool(p) and (t == p or t.startswith(p + "/"))


def _tar_output(words: list[str]) -> tuple[str, list[str]] | None:
    """(archive, sources) of a `tar` that creates an archive into a file (not stdout)."""
    i = next((k for k, w in enumerate(words) if posixpath.basename(w) in ("tar", "bsdtar", "gtar")), None)
    if i is None:
        return None
    args = words[i + 1 :]
    create, out, rest, k = False, None, [], 0
    while k < len(args):
        w = args[k]
        if w in ("-c", "--create") or (
            k == 0 and not w.startswith("-") and "c" in w and re.fullmatch(r"[a-zA-Z]+", w)
        ):
            create = True
            if k == 0 and "f" in w and k + 1 < len(args):
                out, k = args[k + 1], k + 1
        elif w.startswith("--file="):
            out = w.split("=", 1)[1]
        elif w in ("-f", "--file") and k + 1 < len(args):
            out, k = args[k + 1], k + 1
        elif re.fullmatch(r"-[a-zA-Z]+", w) and "f" in w:
            create = create or "c" in w
            if w.endswith("f") and k + 1 < len(args):
                out, k = args[k + 1], k + 1
        elif re.fullmatch(r"-[a-zA-Z]+", w):
            create = create or "c" in w
        elif w in (
            "-C",
            "--directory",
            "--exclude",
            "-X",
            "-T",
            "--use-compress-program",
            "-I",
        ) and k + 1 < len(args):
            k += 1
        elif not w.startswith("-"):
            rest.append(w)
        k += 1
    if not create or not out or out == "-" or out.startswith("/dev/"):
        return None
    return out, rest


# `> FILE` in a logical line (the shell model keeps no redirect on a pipeline's last stage)
_REDIRECT = re.compile(r"(?<![0-9&<>])>>?\s*(\"[^\"]+\"|'[^']+'|(?:[^\s;|&<>()$]|\$\{?\w+\}?|\$\([^)]*\))+)")


def _last_on_line(script: ShellScript, c: Command) -> Command:
    same = [x for x in script.commands if x.line == c.line and (x.logical or x.text) == (c.logical or c.text)]
    return same[-1] if same else c


def _docker_mounts(words: list[str]) -> list[tuple[str, str]]:
    """(host, container) bind mounts of a `docker run -v HOST:CTR`."""
    out = []
    for k, w in enumerate(words[:-1]):
        if w in ("-v", "--volume"):
            bits = words[k + 1].split(":")
            if len(bits) >= 2 and bits[0].startswith(("/", "$", '"', ".")):
                out.append((bits[0], bits[1]))
    return out


@dataclass
class _Archive:
    line: int
    target: str  # as the host sees it
    what: str
    in_container: bool


def _archives(script: ShellScript) -> list[_Archive]:
    out: list[_Archive] = []
    for c in script.commands:
        logical = c.logical or c.text
        docker = c.name in ("docker", "podman") and "run" in c.words[:3]
        t = _tar_output(c.words)
        if t is not None:
            target, sources = t
            secret = [s for s in sources if _SECRET_SRC.search(s)]
            if secret and not _ENCRYPT.search(logical):
                host = target
                if docker:
                    for h, ctr in _docker_mounts(c.words):
                        if _under(target, ctr):
                            host = _norm(h) + _norm(target)[len(_norm(ctr)) :]
                out.append(_Archive(c.line, host, f"tar of {', '.join(secret[:3])}", docker))
            continue
        if c.name == "redis-cli" and "--rdb" in c.words[:-1] and not _ENCRYPT.search(logical):
            out.append(
                _Archive(c.line, c.words[c.words.index("--rdb") + 1], "redis-cli --rdb snapshot", False)
            )
            continue
        m = _DUMPERS.search(logical)
        if not m or _ENCRYPT.search(logical):
            continue
        if c is not _last_on_line(script, c):
            continue  # one pipeline, one output: judged once, on its last command
        targets = [t for op, t in c.redirects if op in (">", ">>")] or [
            r.group(1).strip("\"'") for r in _REDIRECT.finditer(logical, m.end())
        ]
        for target in targets:
            if not target.startswith(("/dev/", "&")):
                out.append(_Archive(c.line, target, f"{m.group(1).split()[0]} dump", False))
        for w in c.words:
            for flag in ("--result-file=", "--file=", "--archive="):
                if w.startswith(flag) and c.name in (
                    "mysqldump",
                    "mariadb-dump",
                    "pg_dump",
                    "pg_dumpall",
                    "mongodump",
                ):
                    out.append(_Archive(c.line, w.split("=", 1)[1], f"{c.name} dump", False))
    return out


def _resolve(prog: ShellProgram | None, path: str) -> str:
    """``path`` with the program's constants; when the file name is computed (`$(date +%F)`), its
    directory at least."""
    if prog is None:
        return path
    full = prog.value(path)
    if full:
        return full
    head, _, tail = _norm(path).rpartition("/")
    d = prog.value(head) if head else None
    return f"{d}/{tail}" if d else path


@dataclass
class _DirMode:
    path: str  # resolved with the program's constants
    raw: str  # as written
    closed: bool  # others get nothing
    art: Artifact
    line: int


def _dir_modes(progs: list[ShellProgram]) -> list[_DirMode]:
    """`install -d -m 700 D`, `mkdir -m 750 D`, `chmod 700 D` / `chmod 755 D` anywhere in the repository's
    scripts (an installer often creates the backup directory the backup script writes into)."""
    out: list[_DirMode] = []
    seen: set[tuple[str, int]] = set()
    for prog in progs:
        for art, c in [*prog.commands(), *prog.wrapped_commands()]:
            if c.name not in ("chmod", "mkdir", "install") or (art.path, c.line) in seen:
                continue
            mode = next((c.argv[k + 1] for k, w in enumerate(c.argv[:-1]) if w in ("-m", "--mode")), None)
            if c.name == "chmod":
                args = [w for w in c.argv[1:] if not w.startswith("-") or re.fullmatch(r"-[rwx]+", w)]
                mode, paths = (args[0], args[1:]) if args else (None, [])
            else:
                opts = {"-m", "--mode", "-o", "-g", "--owner", "--group"}
                paths = [
                    w
                    for k, w in enumerate(c.argv[1:], 1)
                    if not w.startswith("-") and c.argv[k - 1] not in opts
                ]
                if c.name == "install" and "-d" not in c.argv and "--directory" not in c.argv:
                    paths = paths[-1:]  # install SRC DEST: the destination
            if mode is None:
                continue
            closed = bool(_CLOSED_MODE.match(mode))
            if not closed and not (
                re.fullmatch(r"0?[0-7]{2}[4-7][0-7]?", mode) or mode in ("a+r", "o+r", "+r")
            ):
                continue
            seen.add((art.path, c.line))
            for p in paths:
                out.append(_DirMode(_norm(prog.value(p) or p), p, closed, art, c.line))
    return out


def _unit_umask(ctx: ScanContext, art: Artifact) -> Evidence | None:
    """A systemd unit that runs this script with a UMask closing the file to others."""
    base = posixpath.basename(art.path)
    for u in ctx.artifacts("systemd_unit"):
        if base in u.text:
            m = _UNIT_UMASK.search(u.text)
            if m:
                return u.evidence(
                    u.text.count("\n", 0, m.start()) + 1, note="the unit running the script sets UMask"
                )
    return None


@check("BAK033", "backup-archive-world-readable", category="backup", severity="high", pillar="security")
def backup_archive_world_readable(ctx: ScanContext) -> Iterator[Result]:
    """Database dumps and archives of secrets are not written readable by every local user.

    What it does
        Finds backup outputs holding secrets: database dumps (`mysqldump`, `pg_dump`,
        `mariabackup`, `mongodump`, `redis-cli --rdb`... redirected to a file or `--result-file`)
        and `tar` archives of `.env`, keys, `/etc/ssl`, crypt/credential/database directories,
        also when tar runs in `docker run -v HOST:/backup` (the container's umask is 022 whatever
        the script sets; the host path of the mount is what is judged). Each is restricted when an
        earlier `umask 077`/`027` applies (not inside a container), a later `chmod` closes the
        file or a directory above it to others, that directory is created with `mkdir -m 700`/
        `install -d -m 750` (by this script or any other of the repository, e.g. the installer;
        paths resolved with the scripts' constants), it lives under `/root`, the systemd unit
        running the script sets `UMask=0077`, or the output is encrypted (gpg, age, restic, borg). Otherwise fails, with
        any `chmod 755` that opened the directory as evidence.
    Why it matters
        Under the default umask 022 the dump is mode 0644: every local user and every compromised
        service account reads the whole database, password hashes and API keys included.
    Example
        mysqldump --all-databases | gzip > /var/backups/db-$(date +%F).sql.gz   # 0644
    Fix
        `umask 077` at the top of the script (or `UMask=0077` in the unit), or
        `install -d -m 700 /var/backups/db` for the directory; encrypt archives that leave the host.
    References
        https://cwe.mitre.org/data/definitions/276.html
        https://man7.org/linux/man-pages/man2/umask.2.html
    Severity
        High: the dump or archive exposes the database and its credentials to every local user.
    """
    progs = shell_programs(ctx)
    dirs = _dir_modes(progs)
    seen = False
    for art, script in ctx.parsed("shell"):
        found = _archives(script)
        if not found:
            continue
        seen = True
        prog = program_for(ctx, art)
        umasks = [
            c
            for c in script.commands
            if c.name == "umask" and len(c.argv) > 1 and _CLOSED_UMASK.match(c.argv[1])
        ]
        unit = _unit_umask(ctx, art)
        bad: list[tuple[_Archive, tuple[Artifact, int] | None]] = []
        for a in found:
            resolved = _norm(_resolve(prog, a.target))
            if resolved.startswith("/root/") or a.target.startswith("/root/"):
                continue  # root's home is 0700
            if not a.in_container and (unit or any(u.line < a.line for u in umasks)):
                continue
            closed = opened = None
            for d in dirs:
                if not (_under(a.target, d.raw) if d.art is art else False) and not _under(resolved, d.path):
                    continue
                if d.closed:
                    closed = d
                else:
                    opened = d
            if closed is None:
                bad.append((a, (opened.art, opened.line) if opened else None))
        if bad:
            a0 = bad[0][0]
            opened_at = sorted({o for _, o in bad if o is not None}, key=lambda o: (o[0].path, o[1]))
            yield Result.fail(
                f"{art.path}: {len(bad)} backup output(s) holding secrets written with the default umask (0644"
                + (", in a directory made world-readable" if opened_at else "")
                + f"): every local user can read them: {a0.what} to {a0.target}"
                + (f" and {len(bad) - 1} more" if len(bad) > 1 else ""),
                *[art.evidence(a.line, note=f"{a.what} -> {a.target}") for a, _ in bad[:10]],
                *[oa.evidence(ln, note="opens the directory to others") for oa, ln in opened_at],
                subject=art.path,
            )
        if not bad:
            yield Result.passed(
                f"{art.path}: {len(found)} backup output(s) holding secrets are restricted",
                art.evidence(found[0].line),
                subject=art.path,
            )
    if not seen:
        yield Result.not_applicable("no script writes database dumps or archives of secrets")
