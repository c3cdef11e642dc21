"""Secrets: credentials on command lines, hard-coded in files, written world-readable, traced by
`set -x`, or embedded in unit `Environment=` lines and URLs. Detection shares its vocabulary with
`redact.py`, so whatever is found here is also what every output masks."""

from __future__ import annotations

import re
from collections.abc import Iterator

from chom_validate.artifacts import Artifact
from chom_validate.artifacts.shell import Command, ShellScript
from chom_validate.engine import ScanContext
from chom_validate.findings import Result
from chom_validate.redact import looks_like_placeholder
from chom_validate.registry import check

SECRET_NAME = re.compile(
    r"(pass(word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|"
    r"credentials?|client[_-]?secret|auth[_-]?key)",
    re.I,
)
_NOT_SECRET_NAME = re.compile(
    r"(_file|_path|_dir|_length|_len|_min|_max|_policy|_reset|_hash_algo|_url_path)$", re.I
)


def _value_kind(value: str) -> str:
    """'reference' ($VAR, $(cmd)), 'placeholder' (changeme, example) or 'literal' (a real-looking secret)."""
    v = value.strip().strip("'\"")
    if not v or v.startswith("$") or "${" in v or "$(" in v or "{{" in v:
        return "reference"
    if v == "!vault" or v.startswith("$ANSIBLE_VAULT;"):
        return "reference"  # Ansible Vault ciphertext (the tag of the block that follows): not plaintext
    if looks_like_placeholder(v) or len(v) < 4:
        return "placeholder"
    return "literal"


# -- SEC001: command lines ---------------------------------------------------------------------------


def _cmdline_secret(c: Command) -> tuple[str, str] | None:
    """(what, value) when a command passes a credential in its argv."""
    for k in range(min(3, len(c.argv))):
        hit = _argv_secret(c.argv[k:])
        if hit:
            return hit
    return None


def _argv_secret(a: list[str]) -> tuple[str, str] | None:
    if not a:
        return None
    n = a[0]
    if n == "htpasswd":
        opts = "".join(w[1:] for w in a[1:] if w.startswith("-"))
        pos = [w for w in a[1:] if not w.startswith("-")]
        if "b" in opts and len(pos) >= 3:
            return "htpasswd -b", pos[2]
    if n in ("mysql", "mysqldump", "mysqladmin", "mariadb", "mariadb-dump", "mysqlcheck"):
        for w in a[1:]:
            if re.match(r"^-p.+", w):
                return f"{n} -p<password>", w[2:]
            if w.startswith("--password="):
                return f"{n} --password=", w.split("=", 1)[1]
    if n in ("curl", "wget"):
        for i, w in enumerate(a[1:], 1):
            if w in ("-u", "--user") and i + 1 < len(a) and ":" in a[i + 1]:
                return f"{n} {w} user:password", a[i + 1].split(":", 1)[1]
            if w.startswith(("--password=", "--http-password=")):
                return f"{n} --password=", w.split("=", 1)[1]
            if (
                re.match(r"^-H$|^--header$", w)
                and i + 1 < len(a)
                and re.match(r"(?i)authorization:\s*(bearer|basic|token)\s+\S", a[i + 1])
            ):
                return f"{n} Authorization header", a[i + 1].split()[-1]
    for i, w in enumerate(a[1:], 1):
        m = re.match(r"^--?([\w-]*(password|passwd|token|secret|api-key|apikey)[\w-]*)=(.+)$", w, re.I)
        if m:
            return f"--{m.group(1)}=", m.group(3)
        m2 = re.match(r"^--([\w-]*(password|passwd|secret|token)[\w-]*)$", w, re.I)
        if m2 and i + 1 < len(a) and not a[i + 1].startswith("-") and "file" not in w.lower():
            return f"--{m2.group(1)} <value>", a[i + 1]
    return None


@check("SEC001", "no-secrets-on-command-lines", category="secrets", severity="high", pillar="security")
def secrets_on_cmdline(ctx: ScanContext) -> Iterator[Result]:
    """Passwords and tokens are never passed as command-line arguments.

    What it does
        In every shell script (and cron line), reports credentials in argv: `htpasswd -b FILE
        USER PASS`, `mysql -pPASS`/`--password=`, `curl -u user:pass`, an `Authorization:`
        header, any `--password=`/`--token=` option. A literal credential is critical; a
        variable (`"$DB_PASS"`) is still visible to every local user in `ps`/`/proc/PID/cmdline`
        and is high; placeholders (`changeme`) are reported as placeholders, not leaks.
    Why it matters
        Process arguments are world-readable on Linux, end up in shell history, audit logs and
        `ps` snapshots in bug reports. Seed 003 found exactly this (`htpasswd` with the password
        on the command line) after a review had missed it.
    Example
        htpasswd -bc /etc/nginx/.htpasswd_prometheus admin "$PROMETHEUS_PASS"
    Fix
        Pass secrets on stdin or in a file: `printf '%s\\n' "$PASS" | htpasswd -ic FILE USER`,
        `mysql --defaults-extra-file=/root/.my.cnf`, `curl --netrc-file`, `--password-file`.
    References
        https://cwe.mitre.org/data/definitions/214.html
        https://httpd.apache.org/docs/2.4/programs/htpasswd.html
    """
    scripts = [(a, s) for a, s in ctx.parsed("shell") if not a.embedded]
    if not scripts:
        yield Result.not_applicable("no shell scripts found")
        return
    for art, script in scripts:
        bad: list[tuple[Command, str, str]] = []
        placeholders: list[tuple[Command, str]] = []
        for c in script.commands:
            hit = _cmdline_secret(c)
            if not hit:
                continue
            what, value = hit
            kind = _value_kind(value)
            if kind == "placeholder":
                placeholders.append((c, what))
            else:
                bad.append((c, what, kind))
        for c, what, kind in bad:
            yield Result.fail(
                f"{art.path}:{c.line + art.line_offset}: "
                + (
                    f"literal credential on the command line ({what})"
                    if kind == "literal"
                    else f"secret passed in argv ({what}), visible in ps"
                ),
                art.evidence(c.line),
                subject=f"{art.path}:{c.line}",
                severity="critical" if kind == "literal" else "high",
            )
        for c, what in placeholders:
            yield Result.not_applicable(
                f"{art.path}: placeholder credential on the command line ({what}); not a leak",
                art.evidence(c.line, note="placeholder"),
                subject=f"{art.path}:{c.line}",
            )
        if not bad and not placeholders:
            yield Result.passed(
                f"{art.path}: no credentials in command arguments",
                art.evidence(1, note="all commands inspected"),
                subject=art.path,
            )


# -- SEC002: hard-coded credentials and private keys ----------------------------------------------

_ASSIGN = re.compile(
    r"""(?<![\w${])(?P<key>[A-Za-z_][A-Za-z0-9_.-]*)["']?\s*(?:=|:|=>)\s*(?P<q>["']?)(?P<val>[^\s"',;]+)(?P=q)"""
)
_PRIVATE_KEY = re.compile(r"-----BEGIN ((RSA|EC|DSA|OPENSSH|ENCRYPTED) )?PRIVATE KEY-----")
_TOKEN = re.compile(
    r"\b(AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}|glpat-[A-Za-z0-9_-]{20,}|xox[abpr]-[A-Za-z0-9-]{10,}|"
    r"sk_live_[A-Za-z0-9]{16,}|hooks\.slack\.com/services/[A-Za-z0-9/]{20,})"
)
_URL_CRED = re.compile(
    r"(?<![a-zA-Z0-9+.-])[a-zA-Z][a-zA-Z0-9+.-]*://(?P<user>[^\s:/@'\"]+):(?P<val>[^\s@/'\"]+)@"
)


def _text_artifacts(ctx: ScanContext) -> list[Artifact]:
    return [a for a in ctx.index.artifacts if not a.embedded]


@check("SEC002", "no-hardcoded-credentials", category="secrets", severity="critical", pillar="security")
def hardcoded(ctx: ScanContext) -> Iterator[Result]:
    """No credentials, tokens or private keys are committed in any collected file.

    What it does
        Scans every collected file (scripts, `.env`, YAML, units, configs, docs) for private
        key blocks, well-known token shapes (AWS, GitHub, GitLab, Slack), and assignments of a
        literal value to a secret-named key (`DB_PASSWORD=...`, `password: ...`,
        `smtp_auth_password:`). References (`$VAR`, `${VAR}`, `{{ vault_x }}`) pass;
        placeholders (`changeme`, `<secret>`, `example`) are reported as placeholders.
    Why it matters
        A secret in a repository is in every clone, fork, CI cache and backup forever; rotating
        it is the only fix. Example/template files are where real values creep in.
    Example
        DB_PASSWORD=Tr0ub4dor-prod-2024        # in landsraad/app/.env.production
    Fix
        Keep secrets in a vault or root-only files on the host (`EnvironmentFile=`, `LoadCredential=`),
        commit `.env.example` with placeholders only, rotate anything that was committed.
    References
        https://cwe.mitre.org/data/definitions/798.html
        https://github.com/Yelp/detect-secrets
    """
    arts = _text_artifacts(ctx)
    if not arts:
        yield Result.not_applicable("no files collected")
        return
    for art in arts:
        leaks: list[tuple[int, str]] = []
        placeholders: list[tuple[int, str]] = []
        for i, ln in enumerate(art.lines, 1):
            if _PRIVATE_KEY.search(ln):
                leaks.append((i, "private key"))
                continue
            if _TOKEN.search(ln):
                leaks.append((i, "access token"))
                continue
            m = _URL_CRED.search(ln)
            if m:
                kind = _value_kind(m.group("val"))
                if kind == "literal":
                    leaks.append((i, "credential in URL"))
                elif kind == "placeholder":
                    placeholders.append((i, "URL credential"))
                continue
            for am in _ASSIGN.finditer(ln):
                key = am.group("key")
                if not SECRET_NAME.search(key) or _NOT_SECRET_NAME.search(key):
                    continue
                kind = _value_kind(am.group("val"))
                if kind == "literal":
                    leaks.append((i, f"{key} hard-coded"))
                elif kind == "placeholder" and am.group("val"):
                    placeholders.append((i, key))
                break
        for line, what in leaks:
            yield Result.fail(
                f"{art.path}:{line}: {what}",
                art.evidence(line),
                subject=f"{art.path}:{line}",
                severity="critical",
            )
        if placeholders and not leaks:
            yield Result.not_applicable(
                f"{art.path}: {len(placeholders)} placeholder secret(s) ({', '.join(k for _, k in placeholders[:4])}); not leaks",
                art.evidence(placeholders[0][0], note="placeholder"),
                subject=art.path,
            )
        if not leaks and not placeholders:
            yield Result.passed(
                f"{art.path}: no hard-coded secrets",
                art.evidence(1, note="whole file scanned"),
                subject=art.path,
            )


# -- SEC003: secrets written to files --------------------------------------------------------------


def _restrictive_before(script: ShellScript, line: int, target: str) -> bool:
    for c in script.commands:
        if c.name == "umask" and len(c.argv) > 1 and c.line <= line and re.match(r"^0?0?[0-7]7$", c.argv[1]):
            return True
    base = target.rsplit("/", 1)[-1]
    for c in script.commands:
        if (
            c.name in ("chmod", "install")
            and (target in c.text or (base and base in c.text))
            and re.search(r"\b0?[0-7][0-7]0\b|\b[ugo]*[-=]rwx\b|o-[rwx]+|go-[rwx]+|\b0?[0-7]00\b", c.text)
        ):
            return True
    return False


@check("SEC003", "secret-files-restricted", category="secrets", severity="high", pillar="security")
def secret_files(ctx: ScanContext) -> Iterator[Result]:
    """Files that receive secrets are created with restrictive permissions.

    What it does
        Finds heredocs and `echo`/`printf` redirects in shell scripts that write a
        secret-named key or variable (`password=`, `$DB_PASS`, `api_key:`) to a file, and checks
        for `umask 077` before, or a `chmod 600`/`640` (or `install -m 600`) on that file.
    Why it matters
        The default umask 022 makes the file world-readable: every local user, every
        compromised service account reads the database password. A later `chmod` leaves a race.
    Example
        cat > /root/.my.cnf <<EOF
        [client]
        password=${MYSQL_ROOT_PASSWORD}
        EOF                                           # never chmod 600: fails
    Fix
        `(umask 077; cat > /root/.my.cnf <<EOF ... EOF)` or `install -m 600 /dev/null FILE` first.
    References
        https://cwe.mitre.org/data/definitions/276.html
    """
    scripts = [(a, s) for a, s in ctx.parsed("shell") if not a.embedded]
    seen = False
    for art, script in scripts:
        writes: list[tuple[int, str]] = []
        for h in script.heredocs:
            if (
                h.target
                and re.search(SECRET_NAME.pattern + r"\s*[=:]", h.body, re.I)
                and "/dev/" not in h.target
            ):
                writes.append((h.line, h.target))
        for c in script.commands:
            if c.name in ("echo", "printf") and c.redirects and SECRET_NAME.search(" ".join(c.argv[1:])):
                writes.append((c.line, c.redirects[0][1]))
        if not writes:
            continue
        seen = True
        bad = [(ln, t) for ln, t in writes if not _restrictive_before(script, ln, t)]
        if bad:
            for ln, t in bad:
                yield Result.fail(
                    f"{art.path}: secret written to {t} without restrictive permissions (umask 077 / chmod 600)",
                    art.evidence(ln),
                    subject=f"{art.path} {t}",
                )
        else:
            yield Result.passed(
                f"{art.path}: secret files are created restricted",
                art.evidence(writes[0][0]),
                subject=art.path,
            )
    if not seen:
        yield Result.not_applicable("no script writes secrets to files")


# -- SEC004: set -x with secrets in scope -----------------------------------------------------------


@check("SEC004", "no-xtrace-with-secrets", category="secrets", severity="high", pillar="security")
def xtrace(ctx: ScanContext) -> Iterator[Result]:
    """`set -x` is never on while secrets are handled.

    What it does
        Finds `set -x`/`set -o xtrace` (or `bash -x` in the shebang) and reports it when a
        command between it and the next `set +x` uses a secret-named variable.
    Why it matters
        xtrace prints every command after expansion to stderr, which lands in the deploy log,
        the CI log or journald: the password is then in plain text wherever logs go.
    Example
        set -x
        mysql -u chom -p"$DB_PASSWORD" ...      # traced: fails
    Fix
        Remove `set -x`, or wrap only non-secret sections in `set -x` ... `set +x`.
    References
        https://www.gnu.org/software/bash/manual/html_node/The-Set-Builtin.html
    """
    scripts = [(a, s) for a, s in ctx.parsed("shell") if not a.embedded]
    seen = False
    for art, script in scripts:
        on_lines = [
            c.line
            for c in script.commands
            if (
                c.name == "set"
                and any(
                    w in ("-x", "-xe", "-ex") or (w.startswith("-") and "x" in w and not w.startswith("--"))
                    for w in c.argv[1:]
                )
            )
            or c.words[:3] == ["set", "-o", "xtrace"]
        ]
        if art.lines and re.match(r"^#!.*\s-\w*x", art.lines[0]):
            on_lines.insert(0, 1)
        if not on_lines:
            continue
        seen = True
        offs = [c.line for c in script.commands if c.name == "set" and "+x" in c.argv]
        hit = None
        for on in on_lines:
            off = min([o for o in offs if o > on], default=len(art.lines) + 1)
            for c in script.commands:
                if on < c.line < off and any(
                    SECRET_NAME.search(v) and not _NOT_SECRET_NAME.search(v)
                    for v in re.findall(r"\$\{?([A-Za-z_]\w*)", c.text)
                ):
                    hit = (on, c)
                    break
            if hit:
                break
        if hit:
            yield Result.fail(
                f"{art.path}: xtrace (set -x) is on while a secret is used",
                art.evidence(hit[0], note="set -x"),
                art.evidence(hit[1].line, note="secret expanded into the trace"),
                subject=art.path,
            )
        else:
            yield Result.passed(
                f"{art.path}: set -x never covers secret use", art.evidence(on_lines[0]), subject=art.path
            )
    if not seen:
        yield Result.not_applicable("no script enables xtrace")


# -- SEC005: units and URLs -------------------------------------------------------------------------


@check("SEC005", "no-secrets-in-unit-environment", category="secrets", severity="high", pillar="security")
def unit_environment(ctx: ScanContext) -> Iterator[Result]:
    """systemd units keep secrets out of `Environment=` and out of URLs in `ExecStart=`.

    What it does
        In every unit and drop-in (files and heredocs in scripts), reports `Environment=`
        assignments of a literal value to a secret-named variable and `user:password@` URLs on
        any line.
    Why it matters
        Unit files are world-readable (`/etc/systemd/system` is 0644) and `systemctl show`
        prints `Environment=` to any user; process environments leak into crash dumps.
    Example
        Environment=DATA_SOURCE_PASS=Sup3rS3cret
    Fix
        `EnvironmentFile=/etc/default/mysqld_exporter` (mode 0600) or `LoadCredential=`.
    References
        https://www.freedesktop.org/software/systemd/man/systemd.exec.html#Environment=
        https://systemd.io/CREDENTIALS/
    """
    units = ctx.artifacts("systemd_unit", "systemd_dropin")
    if not units:
        yield Result.not_applicable("no systemd units found")
        return
    for art in units:
        bad = []
        for i, ln in enumerate(art.lines, 1):
            if ln.strip().startswith("Environment="):
                for key, val in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=(\"[^\"]*\"|\S+)", ln.split("=", 1)[1]):
                    if (
                        SECRET_NAME.search(key)
                        and not _NOT_SECRET_NAME.search(key)
                        and _value_kind(val) == "literal"
                    ):
                        bad.append((i, f"{key} in Environment="))
            m = _URL_CRED.search(ln)
            if m and _value_kind(m.group("val")) == "literal":
                bad.append((i, "credential in URL"))
        if bad:
            for i, what in bad:
                yield Result.fail(f"{art.label}: secret in unit ({what})", art.evidence(i), subject=art.label)
        else:
            yield Result.passed(
                f"{art.label}: no secrets in Environment=/URLs", art.evidence(1), subject=art.label
            )
