"""Secrets: credentials on command lines, hard-coded in files, written world-readable, traced by
`set -x`, printed or logged, embedded in unit `Environment=` lines and URLs, or left at a default.
What a secret is (secret-named keys, value kinds, token formats) lives in `facts/secrets.py`, shared
with the redactor: every value found here joins the run-wide set that every output masks."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator

from chom_validate.api import Context as ScanContext
from chom_validate.api import remember_secret as remember
from chom_validate.artifacts import Artifact
from chom_validate.artifacts.shell import Command, ShellScript
from chom_validate.facts.secrets import (
    PRIVATE_KEY_BEGIN,
    ValueClass,
    classify_value,
    is_ci_config,
    is_secret_key,
    is_template_file,
    is_test_fixture,
    markdown_code_lines,
    names_non_secret,
    not_an_artifact,
    token_format,
)
from chom_validate.findings import Result
from chom_validate.registry import check

# Kept for other modules that import it: a loose "mentions a secret" test for variable names.
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
    vc = classify_value(value)
    if vc.kind == "reference":
        return "reference"
    if vc.literal:
        remember(value)
        return "literal"
    return "placeholder"


def _secret_var(name: str) -> bool:
    return is_secret_key(name)


# -- SEC001: command lines ---------------------------------------------------------------------------

_MYSQL = (
    "mysql",
    "mysqldump",
    "mysqladmin",
    "mariadb",
    "mariadb-dump",
    "mysqlcheck",
    "mariabackup",
    "xtrabackup",
    "innobackupex",
    "mysqlimport",
    "mysqlshow",
    "mysql_upgrade",
)
# Commands recognised anywhere in argv (after `docker exec ... `, `kubectl exec -- `, `ssh host`).
_KNOWN = frozenset(
    ("htpasswd", "curl", "wget", "redis-cli", "sshpass", "gpg", "gpg2", "openssl", "easyrsa", *_MYSQL)
)


# Words after which argv holds another command (`docker exec c redis-cli`, `kubectl exec p -- mysql`).
_RUNNERS = frozenset(("exec", "run", "--", "ssh", "sudo", "env", "nsenter", "chroot", "xargs", "-exec"))


def _cmdline_secret(c: Command) -> tuple[str, str] | None:
    """(what, value) when a command passes a credential in its argv (or its environment prefix)."""
    m = _ENV_PREFIX.match(c.text.strip())
    if m:  # `PGPASSWORD=x psql`: the parser keeps the assignment out of the words
        return f"{m.group(1)}= environment prefix", m.group(2).strip("'\"")
    return argv_secret(c.words)


_ENV_PREFIX = re.compile(
    r"^(?:\w+=\S*\s+)*(PGPASSWORD|MYSQL_PWD|REDISCLI_AUTH|SSHPASS)=(\"[^\"]*\"|'[^']*'|\S+)\s+\S"
)


# Per-word patterns of argv_secret/_argv_secret, compiled once: they run on every word of every command.
_ENV_SECRET_WORD = re.compile(r"^(PGPASSWORD|MYSQL_PWD|REDISCLI_AUTH|SSHPASS)=(.+)$")
_FLAG_EQ_SECRET = re.compile(
    r"^--?([\w-]*(password|passwd|token|secret|api-key|apikey|passphrase)[\w-]*)=(.+)$", re.I
)
_FLAG_SECRET = re.compile(r"^--([\w-]*(password|passwd|secret|token|passphrase)[\w-]*)$", re.I)


def argv_secret(words: list[str], depth: int = 0) -> tuple[str, str] | None:
    """(what, value) for a credential in argv; string words that parse as a command line of their own
    (`execute "mysql -u root -p$PASS"`, `sh -c "mariabackup --password $PW ..."`) are that command."""
    for w in words:
        m = _ENV_SECRET_WORD.match(w)
        if m:
            return f"{m.group(1)}= environment prefix", m.group(2)
    for k, w in enumerate(words):
        base = w.rsplit("/", 1)[-1]
        if k < 3 or (
            base in _KNOWN
            and any(x in _RUNNERS for x in words[:k])
            and not (words[k - 1].startswith("-") and words[k - 1] not in ("--", "-it", "-ti", "-i", "-t"))
        ):
            hit = _argv_secret([base, *words[k + 1 :]])
            if hit:
                return hit
    if depth < 2:
        for w in words:
            if " " in w.strip() and re.search(r"[A-Za-z]", w):
                try:
                    inner = shlex.split(w, comments=False)
                except ValueError:
                    inner = w.split()
                for piece in _split_list(inner):
                    hit = argv_secret(piece, depth + 1)
                    if hit:
                        return hit
    return None


def _split_list(words: list[str]) -> list[list[str]]:
    out: list[list[str]] = [[]]
    for w in words:
        if w in (";", "&&", "||", "|", "&") or w.endswith(";"):
            if w.endswith(";") and w != ";":
                out[-1].append(w[:-1])
            out.append([])
        else:
            out[-1].append(w)
    return [p for p in out if p]


def _argv_secret(a: list[str]) -> tuple[str, str] | None:
    if not a:
        return None
    n = a[0]
    if n == "htpasswd":
        opts = "".join(w[1:] for w in a[1:] if w.startswith("-") and not w[1:].isdigit())
        pos = [w for w in a[1:] if not w.startswith("-") and not w.isdigit()]
        need = 2 if "n" in opts else 3
        if "b" in opts and len(pos) >= need:
            return "htpasswd -b", pos[need - 1]
    if n in _MYSQL:
        for i, w in enumerate(a[1:], 1):
            if re.match(r"^-p.+", w):
                return f"{n} -p", w[2:]
            if w.startswith("--password="):
                return f"{n} --password=", w.split("=", 1)[1]
            if w == "--password" and i + 1 < len(a) and not a[i + 1].startswith("-"):
                return f"{n} --password", a[i + 1]
    if n == "redis-cli":
        for i, w in enumerate(a[1:], 1):
            if w in ("-a", "--pass", "--askpass") and w != "--askpass" and i + 1 < len(a):
                return "redis-cli -a", a[i + 1]
            if w == "-u" and i + 1 < len(a) and re.match(r"rediss?://[^@]*:[^@]+@", a[i + 1]):
                return "redis-cli -u URL with password", a[i + 1].split("@")[0].rsplit(":", 1)[-1]
    if n == "sshpass":
        for i, w in enumerate(a[1:], 1):
            if w == "-p" and i + 1 < len(a):
                return "sshpass -p", a[i + 1]
            if w.startswith("-p") and len(w) > 2:
                return "sshpass -p", w[2:]
    if n in ("gpg", "gpg2"):
        for i, w in enumerate(a[1:], 1):
            if w == "--passphrase" and i + 1 < len(a):
                return "gpg --passphrase", a[i + 1]
            if w.startswith("--passphrase="):
                return "gpg --passphrase=", w.split("=", 1)[1]
    if n in ("openssl", "easyrsa", "./easyrsa"):
        for i, w in enumerate(a[1:], 1):
            val = a[i + 1] if w in ("-passin", "-passout", "-pass", "-k") and i + 1 < len(a) else None
            if w.startswith(("--passin=", "--passout=")):
                val = w.split("=", 1)[1]
            if val and val.startswith("pass:"):
                return f"{n} {w.split('=')[0]} pass:", val[5:]
    if n in ("curl", "wget"):
        for i, w in enumerate(a[1:], 1):
            if w in ("-u", "--user") and i + 1 < len(a) and ":" in a[i + 1]:
                return f"{n} {w} user:password", a[i + 1].split(":", 1)[1]
            if w.startswith(("--password=", "--http-password=")):
                return f"{n} --password=", w.split("=", 1)[1]
            if (
                re.match(r"^-H$|^--header$", w)
                and i + 1 < len(a)
                and re.match(
                    r"(?i)(authorization:\s*(bearer|basic|token)|(x-)?[\w-]*(api-key|token|auth)[\w-]*:)\s*\S",
                    a[i + 1],
                )
            ):
                return f"{n} authorization header", a[i + 1].split()[-1]
    for i, w in enumerate(a[1:], 1):
        if not w.startswith("-"):  # both patterns below start with a dash
            continue
        m = _FLAG_EQ_SECRET.match(w)
        if m and is_secret_key(m.group(1)):
            return f"--{m.group(1)}=", m.group(3)
        m2 = _FLAG_SECRET.match(w)
        if m2 and is_secret_key(m2.group(1)) and i + 1 < len(a) and not a[i + 1].startswith("-"):
            return f"--{m2.group(1)}", a[i + 1]
    return None


def _flag_takes_value(body: str) -> bool:
    return bool(re.search(r"=\s*\"?\$\{?(2|OPTARG)\b|\$\{1#\*=\}|=\s*\"?\$\{?2:", body))


@check("SEC001", "no-secrets-on-command-lines", category="secrets", severity="high", pillar="security")
def secrets_on_cmdline(ctx: ScanContext) -> Iterator[Result]:
    """Passwords and tokens are never passed as command-line arguments.

    What it does
        In every shell script (and cron line), reports credentials in argv: `htpasswd -b FILE
        USER PASS`, `mysql -pPASS`/`--password X`, `redis-cli -a`, `sshpass -p`, `gpg
        --passphrase`, `openssl -passin pass:X`, `curl -u user:pass`, an `Authorization:` header,
        any `--password=`/`--token=` option, `PGPASSWORD=x cmd` prefixes, also inside wrapper
        strings (`execute "mysql -p$PASS"`, `sh -c "..."`), and a script whose own options take a
        password value (`--password VALUE`). A literal credential is critical; a variable
        (`"$DB_PASS"`) is medium: the value is not in the repository, but every local user sees it.
        Placeholders (`changeme`) are reported as placeholders, not leaks.
    Why it matters
        Process arguments are world-readable on Linux (`ps`, `/proc/PID/cmdline`, `docker inspect`),
        and end up in shell history, audit logs and `ps` snapshots in bug reports. Seed 003 found
        exactly this (`htpasswd` with the password on the command line) after a review had missed it.
        Severity: critical when the literal is committed (a breach by reading the repository), medium
        when only a local observer on the host can see it.
    Example
        htpasswd -bc /etc/nginx/.htpasswd_prometheus admin "$PROMETHEUS_PASS"
    Fix
        Pass secrets on stdin or in a file: `printf '%s\\n' "$PASS" | htpasswd -ic FILE USER`,
        `mysql --defaults-extra-file=/root/.my.cnf`, `REDISCLI_AUTH`, `sshpass -f`, `gpg
        --passphrase-fd 0`, `curl --netrc-file`, `--password-file`.
    References
        https://cwe.mitre.org/data/definitions/214.html
        https://httpd.apache.org/docs/2.4/programs/htpasswd.html
    Severity
        High: a credential any local user can read from the process table is likely to be exposed; a
        committed literal is raised to critical (a breach by reading the repository), a variable seen
        only on the host is medium.
    """
    scripts = [(a, s) for a, s in ctx.parsed("shell") if not a.embedded and not not_an_artifact(a.path)]
    if not scripts:
        yield Result.not_applicable("no shell scripts found")
        return
    for art, script in scripts:
        bad: list[tuple[int, str, str]] = []
        placeholders: list[tuple[int, str]] = []
        seen: set[int] = set()
        for c in script.commands:
            hit = _cmdline_secret(c)
            if not hit or c.line in seen:
                continue
            seen.add(c.line)
            what, value = hit
            kind = _value_kind(value)
            if "environment prefix" in what and kind != "literal":
                continue  # the environment is not argv: only its owner and root can read /proc/PID/environ
            if kind == "placeholder":
                placeholders.append((c.line, what))
            else:
                bad.append((c.line, what, kind))
        for name, flag in sorted(script.flags.items(), key=lambda kv: kv[1].line):
            if name.startswith("--") and is_secret_key(name[2:]) and _flag_takes_value(flag.body):
                bad.append((flag.line, name, "option"))
        test = is_test_fixture(art.path)
        for line, what, kind in bad:
            if kind == "literal":
                msg, sev = f"literal credential on the command line ({what})", "critical"
            elif kind == "option":
                msg = (
                    "the script takes a password as a command-line argument, visible in ps and shell "
                    f"history (its option {what})"
                )
                sev = "medium"
            else:
                msg, sev = f"secret passed in argv ({what}), visible to local users in ps", "medium"
            if test and sev != "critical":
                continue  # a test harness on a throwaway runner: nobody else is on the host
            yield Result.fail(
                f"{art.path}:{line + art.line_offset}: {msg}",
                art.evidence(line),
                subject=f"{art.path}:{line}",
                severity=sev,
            )
        for line, what in placeholders:
            yield Result.not_applicable(
                f"{art.path}: placeholder credential on the command line ({what}); not a leak",
                art.evidence(line, note="placeholder"),
                subject=f"{art.path}:{line}",
            )
        if not bad and not placeholders:
            yield Result.passed(
                f"{art.path}: no credentials in command arguments",
                art.evidence(1, note="all commands inspected"),
                subject=art.path,
            )


# -- SEC002: hard-coded credentials and private keys ----------------------------------------------

_ASSIGN = re.compile(
    r"""(?<![\w${.-])(?P<key>[A-Za-z_][A-Za-z0-9_.-]*)["']?\s*(?:=|:|=>)\s*(?P<q>["']?)(?P<val>[^\s"',;]+)(?P=q)"""
)
_URL_CRED = re.compile(
    r"(?<![a-zA-Z0-9+.-])[a-zA-Z][a-zA-Z0-9+.-]*://(?P<user>[^\s:/@'\"]+):(?P<val>[^\s@/'\"]+)@"
)
_DSN_CRED = re.compile(
    r"(?:^|[\s=\"'])(?P<user>[A-Za-z0-9_.+-]+):(?P<val>[^\s:@/'\"()]{3,})@(?:\(|tcp\(|unix\()"
)
_COMMENT = re.compile(r"^\s*(#|//|;|--|\*|/\*)")


def _text_artifacts(ctx: ScanContext) -> list[Artifact]:
    return [a for a in ctx.index.artifacts if not a.embedded and not not_an_artifact(a.path)]


def _search_lines(art: Artifact) -> list[tuple[int, str]]:
    """Lines worth searching: everything, except prose in Markdown (only its code blocks)."""
    if art.kind == "markdown" or art.path.lower().endswith((".md", ".markdown", ".rst", ".txt")):
        code = markdown_code_lines(art.lines)
        return [(i, art.lines[i - 1]) for i in sorted(code)]
    return list(enumerate(art.lines, 1))


def _private_key_is_real(art: Artifact, line: int) -> bool:
    """A key block with a body (not `...`, not a bare header quoted in docs or a parser's constant)."""
    body = art.lines[line : line + 3]
    return any(re.fullmatch(r"\s*[\"']?[A-Za-z0-9+/=]{40,}[\"',]?\s*(\\n)?[\"']?\s*", b) for b in body)


def line_secrets(ln: str) -> list[tuple[str, str, ValueClass]]:
    """(what, value, class) for every credential on one line: token formats, URL/DSN userinfo and
    assignments of a value to a secret-named key."""
    out: list[tuple[str, str, ValueClass]] = []
    fmt = token_format(ln)
    if fmt:
        out.append((fmt[0], fmt[1], ValueClass("token", fmt[0])))
    # Literal prefilters: both credential patterns need an `@` (the URL one also `://`), an
    # assignment needs `=` or `:`; most lines have none of these and skip the searches.
    if "@" in ln:
        for pat, what in ((_URL_CRED, "credential in URL"), (_DSN_CRED, "credential in DSN")):
            for m in pat.finditer(ln):
                out.append((what, m.group("val"), classify_value(m.group("val"))))
    if "=" not in ln and ":" not in ln:
        return out
    for am in _ASSIGN.finditer(ln):
        key = am.group("key")
        if not is_secret_key(key):
            continue
        val = am.group("val")
        if val.startswith(("http://", "https://")) and not fmt:
            continue  # a URL: its userinfo and token formats were looked at above
        out.append((f"{key} hard-coded", val, classify_value(val, key)))
    return out


@check("SEC002", "no-hardcoded-credentials", category="secrets", severity="critical", pillar="security")
def hardcoded(ctx: ScanContext) -> Iterator[Result]:
    """No credentials, tokens or private keys are committed in any collected file.

    What it does
        Scans every collected file (scripts, `.env`, YAML, units, configs; in Markdown only code
        blocks) for private key blocks, well-known token formats (AWS, GitHub, GitLab, Slack,
        PagerDuty, Stripe, Google, SendGrid, Telegram, JWT), credentials in URLs and DSNs, and
        assignments of a literal value to a secret-named key (`DB_PASSWORD=...`, `password: ...`,
        `smtp_auth_password:`). A value is a credential only when it is a literal: variables,
        environment lookups, the name of a secret object, versions and package names pass.
        Placeholders (`changeme`, `<team-X-key>`, `password`, `mysecret`) are reported once per
        file, at low severity, as placeholders; in test fixtures and CI pipelines they are expected
        and not reported. Lockfiles and vendored code are not searched.
    Why it matters
        A secret in a repository is in every clone, fork, CI cache and backup forever; rotating
        it is the only fix. Example/template files are where real values creep in. Severity:
        critical for a real-looking literal or token (a breach by reading the repository), high for a
        short or word-like literal (still a committed password), low for a placeholder (a config that
        cannot work until someone edits it, and tempts people to deploy it as is).
    Example
        DB_PASSWORD=Tr0ub4dor-prod-2024        # in landsraad/app/.env.production
    Fix
        Keep secrets in a vault or root-only files on the host (`EnvironmentFile=`, `LoadCredential=`,
        `*_file:` options), commit `.env.example` with placeholders only, rotate anything committed.
    References
        https://cwe.mitre.org/data/definitions/798.html
        https://github.com/Yelp/detect-secrets
    Severity
        Critical: a real-looking committed secret is a breach for anyone who can read the repository;
        short word-like literals are high, placeholders low.
    """
    arts = _text_artifacts(ctx)
    if not arts:
        yield Result.not_applicable("no files collected")
        return
    for art in arts:
        test = is_test_fixture(art.path)
        # Placeholders are expected in test fixtures, CI test services and documentation (schema
        # descriptions such as `[ smtp_auth_password: <secret> ]`); they matter in config files.
        doc = art.kind == "markdown" or art.path.lower().endswith((".md", ".markdown", ".rst", ".txt"))
        quiet_placeholders = test or doc or is_ci_config(art.path) or is_template_file(art.path)
        leaks: list[tuple[int, str, str]] = []
        placeholders: list[tuple[int, str]] = []
        expected: list[tuple[int, str]] = []
        for i, ln in _search_lines(art):
            if len(ln) > 4000:
                ln = ln[:4000]
            if PRIVATE_KEY_BEGIN.search(ln):
                if _private_key_is_real(art, i):
                    for body in art.lines[i : i + 200]:  # every body line joins the run-wide mask set
                        if "-----END" in body:
                            break
                        remember(body.strip().strip("\"',"))
                    if not test:
                        leaks.append((i, "private key committed", "critical"))
                continue
            comment = bool(_COMMENT.match(ln))
            for what, value, vc in line_secrets(ln):
                if vc.kind in ("token", "strong"):
                    remember(value)
                    leaks.append((i, f"{what} ({vc.reason})", "critical"))
                    break
                if vc.kind == "weak" and not test and not comment:
                    remember(value)
                    leaks.append((i, f"{what} ({vc.reason})", "high"))
                    break
                if vc.kind == "placeholder" and not comment:
                    (expected if quiet_placeholders else placeholders).append(
                        (i, what.replace(" hard-coded", ""))
                    )
                    break
        for line, what, sev in leaks:
            yield Result.fail(
                f"{art.path}:{line}: {what}",
                art.evidence(line),
                subject=f"{art.path}:{line}",
                severity=sev,
            )
        if placeholders:
            names = sorted({k for _, k in placeholders})
            yield Result.fail(
                f"{art.path}: {len(placeholders)} placeholder credential(s) ({', '.join(names[:5])}"
                f"{', ...' if len(names) > 5 else ''}): the config cannot work until each is replaced, "
                "and must not be deployed as is",
                *[art.evidence(ln, note="placeholder") for ln, _ in placeholders[:20]],
                subject=f"{art.path} placeholders",
                severity="low",
                count=len(placeholders),
            )
        if expected and not leaks and not placeholders:
            yield Result.not_applicable(
                f"{art.path}: {len(expected)} placeholder secret(s) ({', '.join(sorted({k for _, k in expected})[:4])}); "
                "expected in a template, test fixture, CI pipeline or document, not leaks",
                art.evidence(expected[0][0], note="placeholder"),
                subject=art.path,
            )
        elif not leaks and not placeholders:
            yield Result.passed(
                f"{art.path}: no hard-coded secrets",
                art.evidence(1, note="whole file scanned"),
                subject=art.path,
            )


# -- SEC003: secrets written to files --------------------------------------------------------------


_CONTENT_KEY = re.compile(r"^[ \t]*[\"']?([A-Za-z_][\w.-]*)[\"']?[ \t]*(?:=|:\s|[ \t]+\$)", re.M)


def _secret_content(text: str) -> bool:
    """Text that holds a credential: a secret-named key given a value, a private key block, or an
    expansion of a secret-named variable (`masterauth $REDISPASS`, `${RAND_PASS}`)."""
    if PRIVATE_KEY_BEGIN.search(text):
        return True
    for m in _CONTENT_KEY.finditer(text):
        if is_secret_key(m.group(1)):
            rest = text[m.end() : text.find("\n", m.end()) if "\n" in text[m.end() :] else None].strip()
            vc = classify_value(rest.split()[0] if rest.split() else "", m.group(1))
            if vc.literal or vc.kind == "reference":
                return True
    return any(is_secret_key(v) for v in re.findall(r"\$\{?([A-Za-z_]\w*)", text))


_KEY_FILE = re.compile(r"(/private/|\.key\b|\bid_(?:rsa|ecdsa|ed25519)\b|\.pem\b|\$\{?\w*key\w*\}?\b)", re.I)
_GROUP_REDIRECT = re.compile(r"^\s*\}\s*(>>?)\s*(\"[^\"]+\"|'[^']+'|[^\s;|&<>()]+)\s*$")


def _key_copies(art: Artifact, script: ShellScript) -> list[tuple[int, str]]:
    """Private key material copied into another file: `cp KEY F`, `cat KEY >> F`, and
    `{ ...; cat "$pki/private/$client.key"; ... } >> "$profile"` (a profile bundling the client key)."""
    out: list[tuple[int, str]] = []
    for c in script.commands:
        if c.name == "cat" and any(
            (_KEY_FILE.search(w) and "private" in w.lower()) or w.endswith(".key") for w in c.argv[1:]
        ):
            for op, t in c.redirects:
                if op in (">", ">>") and "/dev/" not in t:
                    out.append((c.line, t.strip("\"'")))
    for i, ln in enumerate(art.lines, 1):
        m = _GROUP_REDIRECT.match(ln)
        if not m:
            continue
        depth, start = 0, None
        for j in range(i - 1, max(0, i - 400), -1):
            t = art.lines[j - 1].strip()
            if t.startswith("}"):
                depth += 1
            if t == "{" or (
                t.endswith(" {") and not t.endswith("() {") and not re.match(r"^(function\s+)?\w+\s*\(\)", t)
            ):
                if depth == 0:
                    start = j
                    break
                depth -= 1
        if start is None:
            continue
        body = [c for c in script.commands if start < c.line < i]
        if any(
            c.name == "cat" and any("private" in w.lower() and w.endswith(".key") for w in c.argv[1:])
            for c in body
        ):
            target = m.group(2).strip("\"'")
            # the fix belongs where the file is created (`cp template "$profile"` just before the group)
            created = [
                c.line
                for c in script.commands
                if start - 30 <= c.line <= start
                and {"cp", "touch", "install"} & set(c.words[:4])
                and target in c.text
            ]
            out.append((created[-1] if created else i, target))
    return out


def _restrictive_before(script: ShellScript, line: int, target: str, *, unguarded: bool = False) -> bool:
    """umask 077 before the write, or a chmod/install of the target; with ``unguarded`` the chmod must
    run on every path (a chmod only in one `if` branch leaves the other paths world-readable)."""
    for c in script.commands:
        if c.name == "umask" and len(c.argv) > 1 and c.line <= line and re.match(r"^0?0?[0-7]7$", c.argv[1]):
            return True
    base = target.rsplit("/", 1)[-1]
    for c in script.commands:
        if unguarded and c.guarded:
            continue
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
    Severity
        High: a world-readable file with a password exposes it to every local user and compromised
        service account.
    """
    scripts = [(a, s) for a, s in ctx.parsed("shell") if not a.embedded]
    seen = False
    for art, script in scripts:
        writes: list[tuple[int, str]] = []
        for h in script.heredocs:
            if h.target and "/dev/" not in h.target and _secret_content(h.body):
                # the whole redirect target as written (`"$dir"/"$client".conf`), for the message
                full = re.search(
                    r"(?:>>?|\btee\s+(?:-a\s+)?)\s*((?:\"[^\"]*\"|'[^']*'|[^\s;|&<>()])+)", h.command
                )
                writes.append((h.line, full.group(1).replace('"', "") if full else h.target))
        for c in script.commands:
            if (
                c.name in ("echo", "printf")
                and c.redirects
                and "/dev/" not in c.redirects[0][1]
                and _secret_content(" ".join(c.argv[1:]))
            ):
                writes.append((c.line, c.redirects[0][1]))
        keycopies = _key_copies(art, script)
        writes += [(ln, t) for ln, t in keycopies]
        if not writes:
            continue
        seen = True
        bad = [
            (ln, t)
            for ln, t in writes
            if not _restrictive_before(script, ln, t, unguarded=(ln, t) in keycopies)
        ]
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
    Severity
        High: the traced password is written in plain text to deploy, CI or journal logs, which many
        people and systems read.
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
                    is_secret_key(v) for v in re.findall(r"\$\{?([A-Za-z_]\w*)", c.text)
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
    Severity
        High: unit files and `systemctl show` are readable by every local user, so the secret is exposed
        on the host.
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
                    if is_secret_key(key) and _value_kind(val) == "literal":
                        bad.append((i, f"{key} in Environment="))
            m = _URL_CRED.search(ln) or _DSN_CRED.search(ln)
            if m and _value_kind(m.group("val")) == "literal":
                bad.append((i, "credential in URL" if "://" in m.group(0) else "credential in DSN"))
        if bad:
            for i, what in bad:
                yield Result.fail(f"{art.label}: secret in unit ({what})", art.evidence(i), subject=art.label)
        else:
            yield Result.passed(
                f"{art.label}: no secrets in Environment=/URLs", art.evidence(1), subject=art.label
            )


# -- SEC006: secrets printed or logged ---------------------------------------------------------------

_GENERATED = re.compile(
    r"\$\((?:[^)]*\b(?:openssl\s+rand|pwgen|apg|uuidgen|mkpasswd|wg\s+gen(?:key|psk)|makepasswd|gpg\s+--gen-random)"
    r"|[^)]*/dev/u?random)"
)
_LOGGER_NAME = re.compile(
    r"(?i)^_*(log|logger|msg|message|info|warn|warning|debug|notice|print|say|out|output|"
    r"status|step|run_cmd|run_command|execute|exec_cmd|report|echo_\w+|log_\w+|\w+_log)$"
)
_VAR_REF = re.compile(r"\$\{?([A-Za-z_]\w*)(?![\w#])")
_PLAIN_REF = re.compile(r"\$(?:([A-Za-z_]\w*)\b|\{([A-Za-z_]\w*)\})")


def secret_vars(script: ShellScript) -> dict[str, str]:
    """Variables holding a secret, with why: secret-named, generated by a random source, or built from
    another secret variable (`cmd="mysql -p$PASS ..."` carries PASS). Read-only variables holding only
    a name of a file (`PASSWORD_FILE`) are not secret-named (see `is_secret_key`)."""
    out: dict[str, str] = {}
    for name, value, _ in script.assignments:
        if is_secret_key(name) and classify_value(value, name).kind != "not_secret":
            out.setdefault(name, "secret-named")
        elif _GENERATED.search(value) and not names_non_secret(name):
            out.setdefault(name, "generated from a random source")
    for _ in range(3):  # strings built from secrets carry them (a few levels of composition)
        for name, value, _ in script.assignments:
            if name in out:
                continue
            # plain `$VAR`/`${VAR}` only: `${token%%=*}` derives a different value
            carried = [a or b for a, b in _PLAIN_REF.findall(value) if (a or b) in out]
            if carried and not re.search(
                r"\$\(\s*(?:echo|printf)\b[^)]*\|\s*(?:sha\d+sum|md5sum|htpasswd|openssl|base64)", value
            ):
                out[name] = f"built from {carried[0]}"
    return out


def _loggers(script: ShellScript) -> dict[str, bool]:
    """Functions that print their arguments; True when they also write them to a file (a log)."""
    out: dict[str, bool] = {}
    for fname, (start, end) in script.functions.items():
        body = [c for c in script.commands if start <= c.line <= end]
        prints = any(
            c.name in ("echo", "printf", "logger")
            and re.search(r"\$(?:\{?[*@1]|\{?[A-Za-z_]*(?:msg|message)\b)", c.text)
            for c in body
        )
        if prints or _LOGGER_NAME.match(fname):
            to_file = any(
                any(op in (">>", ">") and "/dev/" not in t for op, t in c.redirects)
                or c.name == "tee"
                or re.search(r"\|\s*tee\b", c.logical)
                for c in body
            )
            if prints:
                out[fname] = to_file
    return out


def _piped_to_command(c: Command) -> bool:
    """`echo "$PASS" | htpasswd -i ...`: the value goes to a program's stdin, not to the terminal."""
    idx = c.logical.find(c.text[:40])
    after = c.logical[idx + len(c.text) :] if idx >= 0 else ""
    return bool(re.match(r"\s*\|(?!\|)", after)) or bool(re.search(r"\|\s*(?!tee\b)[\w./-]+", c.text))


@check("SEC006", "no-secrets-printed-or-logged", category="secrets", severity="high", pillar="security")
def printed_or_logged(ctx: ScanContext) -> Iterator[Result]:
    """Secret values are never printed to the terminal or written to log files.

    What it does
        In every shell script, finds variables that hold a secret (secret-named, generated from a
        random source such as `openssl rand`/`pwgen`/`/dev/urandom`/`wg genkey`, or strings built
        from them such as `cmd="mysql -p$DB_PASS"`), and reports `echo`/`printf` of them to the
        terminal or a `.log` file, and calls of logging or command-tracing helpers
        (`log "Executing: $cmd"`, `run_cmd "..." mysql -p"$PW"`) whose output reaches a log.
        Piping a secret into a program's stdin (`printf '%s' "$PW" | htpasswd -i`) is the right
        way and passes.
    Why it matters
        Terminal output of an install or deploy lands in CI logs, `script` transcripts, journald and
        screenshots in tickets; a log file is usually world-readable (`/var/log/*.log`, 0644) and
        shipped to a log platform. Severity: high when the secret is written to a log file (readable
        by others and kept), medium when printed to the terminal only.
    Example
        log() { echo "[$(date)] $*" | tee -a /var/log/deploy.log; }
        cmd="mysql -u root -p$DB_ROOT_PASS -e 'CREATE DATABASE app'"
        log "Executing: $cmd"                            # the password is in deploy.log: fails
    Fix
        Log the action, not its arguments (`log "creating database"`), mask secrets before logging
        (`${cmd//$DB_ROOT_PASS/***}`), or show a generated password once on a TTY and store it in a
        root-only file.
    References
        https://cwe.mitre.org/data/definitions/532.html
        https://owasp.org/Top10/A09_2021-Security_Logging_and_Monitoring_Failures/
    Severity
        High when the secret is written to a log file (kept and readable by others), medium when it is
        only printed to the terminal.
    """
    scripts = [(a, s) for a, s in ctx.parsed("shell") if not a.embedded and not not_an_artifact(a.path)]
    if not scripts:
        yield Result.not_applicable("no shell scripts found")
        return
    for art, script in scripts:
        if is_test_fixture(art.path):
            continue
        secrets = secret_vars(script)
        if not secrets:
            yield Result.passed(f"{art.path}: no secret variables", art.evidence(1), subject=art.path)
            continue
        loggers = _loggers(script)
        hits: list[tuple[int, str, str]] = []
        for c in script.commands:
            args = " ".join(c.words[1:])
            used = [v for v in _VAR_REF.findall(args) if v in secrets]
            if not used or (c.function and c.function in loggers and c.name in ("echo", "printf", "logger")):
                continue
            var = used[0]
            why = secrets[var]
            if c.name in ("echo", "printf"):
                if _piped_to_command(c):
                    continue
                targets = [t for op, t in c.redirects if op in (">", ">>")]
                logs = [t for t in targets if re.search(r"(?i)\.log\b|\$\{?\w*log\w*\}?", t)]
                if targets and not logs:
                    continue  # written to a file: SEC003 judges its permissions
                if logs:
                    hits.append((c.line, f"{var} ({why}) is written to the log {logs[0]}", "high"))
                else:
                    hits.append((c.line, f"{var} ({why}) is printed to the terminal", "medium"))
            elif c.name in loggers:
                where = "a log file" if loggers[c.name] else "the terminal"
                sev = "high" if loggers[c.name] else "medium"
                hits.append(
                    (c.line, f"{var} ({why}) is passed to {c.name}(), which writes it to {where}", sev)
                )
        for line, what, sev in hits:
            yield Result.fail(
                f"{art.path}:{line + art.line_offset}: secret value printed: {what}",
                art.evidence(line),
                subject=f"{art.path}:{line}",
                severity=sev,
            )
        if not hits:
            yield Result.passed(
                f"{art.path}: secret variables are never printed or logged", art.evidence(1), subject=art.path
            )


# -- SEC007: services deployed with default credentials ----------------------------------------------

_LOGIN = re.compile(r"(?i)pass(word|wd|phrase)?|pwd")
_DEFAULTED = re.compile(r"\$\{(?P<var>[A-Za-z_]\w*):?[-=](?P<default>[^}]+)\}")


def _deployable(art: Artifact) -> bool:
    """Files a service is started from: scripts, compose files, env files, units."""
    if art.kind in ("shell", "systemd_unit", "systemd_dropin"):
        return True
    name = art.name.lower()
    if name.startswith(".env") or name.endswith(".env") or "compose" in name:
        return True
    return art.kind == "yaml" and bool(re.search(r"^services\s*:", art.text, re.M))


@check("SEC007", "no-default-credentials", category="secrets", severity="high", pillar="security")
def default_credentials(ctx: ScanContext) -> Iterator[Result]:
    """Services are never started with a default or placeholder password.

    What it does
        In scripts, compose files, `.env` files and units, reports a secret-named variable with a
        fallback value (`${ADMIN_PASSWORD:-admin}`, `${DB_PASS:=changeme}`) and compose
        `environment:`/unit `Environment=` entries that give a secret a placeholder (`admin`,
        `changeme`, `secret`): the service then runs with a password everybody knows unless every
        deployer remembers to override it.
    Why it matters
        Default credentials are the first thing scanners try (Grafana admin/admin, basic auth in
        front of Prometheus whose lifecycle API can delete data). A placeholder in an example file
        is a nuisance; the same placeholder as the value a service starts with is a breach waiting
        for the first deploy. Severity: high for a login password (a known way in on a reachable
        service), medium for a default key or token; a real-looking literal fallback is also a
        committed secret (SEC002).
    Example
        - GF_SECURITY_ADMIN_PASSWORD=${ADMIN_PASSWORD:-admin}      # docker-compose.yml
    Fix
        Fail when the secret is unset: `${ADMIN_PASSWORD:?set ADMIN_PASSWORD}`, or generate one on
        first start and store it root-only.
    References
        https://cwe.mitre.org/data/definitions/1392.html
        https://docs.docker.com/compose/how-tos/environment-variables/variable-interpolation/
    Severity
        High: a login password everybody knows is a way in on the first deploy where nobody overrides
        it; medium for a default key or token.
    """
    arts = [a for a in _text_artifacts(ctx) if _deployable(a) and not is_test_fixture(a.path)]
    if not arts:
        yield Result.not_applicable("no scripts, compose files, env files or units found")
        return
    for art in arts:
        hits: list[tuple[int, str]] = []
        compose = art.kind == "yaml"
        for i, ln in enumerate(art.lines, 1):
            if _COMMENT.match(ln):
                continue
            for m in _DEFAULTED.finditer(ln):
                var, default = m.group("var"), m.group("default").strip().strip("'\"")
                if not is_secret_key(var) or not default:
                    continue
                vc = classify_value(default, var)
                if vc.kind == "placeholder" or vc.literal:
                    hits.append((i, f"{var} falls back to a default value when unset"))
                    break
            else:
                if compose or art.kind in ("systemd_unit", "systemd_dropin"):
                    m2 = re.match(
                        r"^\s*(?:-\s*|Environment=\s*)?[\"']?([A-Za-z_][\w.]*)[\"']?\s*[=:]\s*[\"']?([^\s\"'$]+)[\"']?\s*$",
                        ln,
                    )
                    if (
                        m2
                        and is_secret_key(m2.group(1))
                        and classify_value(m2.group(2), m2.group(1)).kind == "placeholder"
                    ):
                        hits.append((i, f"{m2.group(1)} is set to a placeholder password"))
        for line, what in hits:
            login = _LOGIN.search(what.split(" ", 1)[0])
            yield Result.fail(
                f"{art.path}:{line}: {what}: the service runs with "
                + ("a password everybody knows" if login else "a key everybody knows"),
                art.evidence(line),
                subject=f"{art.path}:{line}",
                # a known login password is a way in (high); a default key or token is weaker exposure
                severity="high" if login else "medium",
            )
        if not hits:
            yield Result.passed(f"{art.path}: no default credentials", art.evidence(1), subject=art.path)


# -- SEC008: private keys handed to service accounts or duplicated -----------------------------------

_KEY_SRC = re.compile(r"(/|^)private/|\.key$|(^|/)id_(rsa|ecdsa|ed25519)$")
_CA_KEY = re.compile(r"(^|/)(ca|ca-key|cakey|root-ca)\.(key|pem)$", re.I)
_ROOT_OWNER = re.compile(r"^(root|0)(:(root|0|wheel))?$")


def _copies(script: ShellScript) -> list[tuple[int, str, str]]:
    """(line, source, destination) of `cp`/`install`/`mv` of key files, also behind wrappers."""
    out: list[tuple[int, str, str]] = []
    for c in script.commands:
        words = c.words
        idx = next((k for k, w in enumerate(words[:4]) if w in ("cp", "install", "mv")), None)
        if idx is None:
            continue
        args = [w for w in words[idx + 1 :] if not w.startswith("-")]
        if len(args) < 2:
            continue
        dest = args[-1].rstrip("/")
        out += [(c.line, src, dest) for src in args[:-1] if _KEY_SRC.search(src)]
    return out


@check("SEC008", "private-keys-stay-private", category="secrets", severity="high", pillar="security")
def private_keys_private(ctx: ScanContext) -> Iterator[Result]:
    """Private keys are never handed to a service account, and CA keys are never duplicated.

    What it does
        In every shell script, finds private keys copied into a directory (`cp pki/private/*.key
        DIR`) and reports a later recursive `chown -R user DIR` to a non-root account, and any copy
        of a CA signing key (`ca.key`) out of its PKI directory.
    Why it matters
        A daemon that owns its key directory can read and rewrite every key in it: one bug in the
        daemon (or anyone with its account) then holds the CA key and can issue credentials, and a
        script root runs later from that directory becomes a privilege escalation. A CA key copied
        next to a daemon that never uses it is a second copy to protect and to forget. Severity: high
        for keys handed to another account (privilege escalation), low for a needless copy.
    Example
        cp pki/ca.crt pki/private/ca.key pki/private/server.key /etc/openvpn/server
        chown -R openvpn:openvpn /etc/openvpn/server            # the daemon now owns the CA key: fails
    Fix
        Keep keys root-owned 0600 (`chgrp` only the files the daemon reads, group-readable 0640),
        never copy the CA key outside the PKI; sign on another host when you can.
    References
        https://cwe.mitre.org/data/definitions/732.html
        https://community.openvpn.net/openvpn/wiki/EasyRSA3-OpenVPN-Howto
    Severity
        High: a service account that owns the CA or server keys turns one daemon bug into credential
        issuance or privilege escalation; a needless copy of the CA key is low.
    """
    scripts = [(a, s) for a, s in ctx.parsed("shell") if not a.embedded and not not_an_artifact(a.path)]
    seen = False
    for art, script in scripts:
        if is_test_fixture(art.path):
            continue
        copies = _copies(script)
        if not copies:
            continue
        seen = True
        hits = 0
        for c in script.commands:
            words = c.words
            idx = next((k for k, w in enumerate(words[:4]) if w == "chown"), None)
            if idx is None or not any(
                w in ("-R", "--recursive") or re.fullmatch(r"-\w*R\w*", w) for w in words[idx + 1 :]
            ):
                continue
            args = [w for w in words[idx + 1 :] if not w.startswith("-")]
            if len(args) < 2 or _ROOT_OWNER.match(args[0]):
                continue
            for path in (a.rstrip("/") for a in args[1:]):
                held = [(ln, src) for ln, src, dest in copies if dest == path or dest.startswith(path + "/")]
                if held:
                    hits += 1
                    yield Result.fail(
                        f"{art.path}:{c.line + art.line_offset}: chown -R {args[0]} {path} hands the private keys "
                        f"copied there ({held[0][1].rsplit('/', 1)[-1]}) to a service account",
                        art.evidence(c.line),
                        art.evidence(held[0][0], note="private key copied here"),
                        subject=f"{art.path}:{c.line}",
                    )
                    break
        for ln, src, dest in copies:
            if _CA_KEY.search(src):
                hits += 1
                yield Result.fail(
                    f"{art.path}:{ln + art.line_offset}: CA signing key {src} copied to {dest}: a second copy "
                    "of the key that issues every credential",
                    art.evidence(ln),
                    subject=f"{art.path}:{ln} ca-key",
                    severity="low",
                )
        if not hits:
            yield Result.passed(
                f"{art.path}: copied private keys stay root-owned",
                art.evidence(copies[0][0]),
                subject=art.path,
            )
    if not seen:
        yield Result.not_applicable("no script copies private keys")
