"""What a secret is: secret-named keys, the kind of value assigned to them, known token formats.

Shared by the SEC checks (what to report and how severely) and the redactor (which values to mask
wherever they appear). A hard-coded credential needs a *literal* value: a variable, an environment
lookup, the name of a secret object, a version string or a placeholder (`changeme`, `<team-X-key>`,
`mysecret`) is not one. Literals are graded: a known token format or a random-looking value is a
real credential (critical); a short or word-like literal is a weak one; a placeholder is reported
only as a placeholder, at low severity, by the checks that care.
"""

from __future__ import annotations

import functools
import math
import posixpath
import re
from collections import Counter
from dataclasses import dataclass
from typing import Literal

# -- key names ----------------------------------------------------------------------------------------

# Word segments of a key that make it hold a secret. Split on `_ - . space` and camelCase, so
# `css-tokenizer`, `js-tokens` and `PasswordResetController` are not secrets while `DB_PASS`,
# `smtp_auth_password`, `botToken` and `X-Api-Key` are.
_SECRET_SEGMENTS = frozenset(
    (
        "password",
        "passwd",
        "pass",
        "pwd",
        "passphrase",
        "secret",
        "token",
        "credential",
        "credentials",
        "apikey",
        "psk",
        "presharedkey",
        "privatekey",
        "secretkey",
        "accesskey",
        "authkey",
        "dsn",
    )
)
# `<qualifier>_key` is a secret (`api_key`, `service_key`, `routing_key`); a bare `key` is not.
_KEY_QUALIFIERS = frozenset(
    (
        "api",
        "service",
        "routing",
        "integration",
        "secret",
        "access",
        "private",
        "auth",
        "app",
        "signing",
        "encryption",
        "master",
        "client",
        "bot",
        "webhook",
        "license",
        "preshared",
        "session",
        "account",
    )
)
# A last segment that makes the key describe a secret rather than hold one.
_NOT_SECRET_TAIL = frozenset(
    (
        "file",
        "files",
        "path",
        "dir",
        "directory",
        "length",
        "len",
        "min",
        "max",
        "policy",
        "reset",
        "hash",
        "algo",
        "algorithm",
        "scheme",
        "lifetime",
        "name",
        "names",
        "id",
        "type",
        "mode",
        "prompt",
        "field",
        "header",
        "env",
        "var",
        "ref",
        "expiry",
        "ttl",
        "timeout",
        "expires",
        "count",
        "regex",
        "pattern",
        "format",
        "size",
        "manager",
        "provider",
        "helper",
        "command",
        "cmd",
        "enabled",
        "required",
        "method",
        "endpoint",
        "version",
        "store",
        "source",
        "location",
        "label",
        "generator",
        "rotation",
        "uri",
        "arn",
        "kind",
        "url_path",
        "changed",
        "auth",
        "controller",
        "handler",
        "class",
        "form",
        "input",
        "view",
        "page",
        "route",
        "action",
        "request",
        "response",
        "validator",
        "warning",
        "error",
        "message",
        "msg",
        "hint",
        "label",
        "help",
        "enable",
        "disable",
        "strength",
    )
)
# Shell variables whose names look secret but are not (`$PWD` is the working directory).
_SHELL_SPECIALS = frozenset(("PWD", "OLDPWD", "pwd"))
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


_SEGMENT_SEP = re.compile(r"[_\-.\s/:]+")


def key_segments(name: str) -> list[str]:
    return list(_key_segments(name))


@functools.lru_cache(maxsize=8192)
def _key_segments(name: str) -> tuple[str, ...]:
    return tuple(s for s in _SEGMENT_SEP.split(_CAMEL.sub("_", name.strip("'\" "))) if s)


_NON_SECRET_NAMES = frozenset(
    (
        "suffix",
        "prefix",
        "tag",
        "serial",
        "uuid",
        "hostname",
        "host",
        "random",
        "rand",
        "tmp",
        "temp",
        "octet",
        "port",
        "num",
        "number",
        "nonce",
        "salt",
        "seed",
        "index",
        "idx",
        "n",
        "i",
    )
)


def names_non_secret(name: str) -> bool:
    """A name that says its value is not a secret even when random (`SERVER_NAME`, `TMP_DIR`, `SUFFIX`)."""
    segs = [s.lower() for s in key_segments(name)]
    return (
        bool(segs)
        and (segs[-1] in _NOT_SECRET_TAIL or segs[-1] in _NON_SECRET_NAMES)
        and not is_secret_key(name)
    )


@functools.lru_cache(maxsize=16384)
def is_secret_key(name: str) -> bool:
    """True when a key/variable/option name says it holds a credential (pure: memoised)."""
    segs = [s.lower() for s in key_segments(name)]
    if not segs or len(name) > 80 or name.strip("'\" ") in _SHELL_SPECIALS:
        return False
    if segs[-1] in _NOT_SECRET_TAIL and segs[-1] != "key":
        return False
    for i, s in enumerate(segs):
        if s in _SECRET_SEGMENTS:
            return True
        if s == "key" and i > 0 and segs[i - 1] in _KEY_QUALIFIERS:
            return True
    return False


# -- known token formats ------------------------------------------------------------------------------

TOKEN_FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(p))
    for name, p in (
        ("AWS access key id", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
        ("GitHub token", r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b"),
        ("GitHub fine-grained token", r"\bgithub_pat_[A-Za-z0-9_]{60,}\b"),
        ("GitLab token", r"\bglpat-[A-Za-z0-9_-]{20,}\b"),
        ("Slack token", r"\bxox[abposr]-[0-9]{6,}-[0-9A-Za-z-]{10,}\b"),
        ("Slack app token", r"\bxapp-\d-[A-Z0-9]{6,}-\d{6,}-[a-f0-9]{32,}\b"),
        (
            "Slack webhook",
            r"hooks\.slack\.com/(?:services|workflows)/T[A-Z0-9]{6,}/[A-Z0-9]{6,}/[A-Za-z0-9]{16,}",
        ),
        ("Discord webhook", r"discord(?:app)?\.com/api/webhooks/\d{6,}/[A-Za-z0-9_-]{30,}"),
        ("Stripe key", r"\b[sr]k_live_[0-9A-Za-z]{16,}\b"),
        ("Google API key", r"\bAIza[0-9A-Za-z_-]{35}\b"),
        ("SendGrid key", r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{30,}\b"),
        ("Telegram bot token", r"\b\d{8,10}:AA[A-Za-z0-9_-]{33}\b"),
        ("JSON Web Token", r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
        ("npm token", r"\bnpm_[A-Za-z0-9]{36}\b"),
    )
)
PRIVATE_KEY_BEGIN = re.compile(
    r"-----BEGIN ((?:RSA|EC|DSA|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY(?: BLOCK)?-----"
)
# A PagerDuty Events v2 routing key or v1 service key: 32 lowercase hex/alnum characters.
_PAGERDUTY = re.compile(r"^[a-z0-9]{32}$")


# A well-formed token that says it is not real (AWS documents AKIAIOSFODNN7EXAMPLE).
_TOKEN_PLACEHOLDER = re.compile(r"(?i)example|x{4,}|fake|dummy|sample|placeholder|(.)\1{5,}")


# Every format above contains one of these literals (tests/test_perf_equivalence.py holds a sample
# of each format and compares the answers with and without this prefilter on every corpus line): a
# line with none of them holds no token, found with a few substring tests instead of 14 searches.
TOKEN_LITERALS = (
    "AKIA",
    "ASIA",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xox",
    "xapp-",
    "hooks.slack.com/",
    "discord",
    "k_live_",
    "AIza",
    "SG.",
    ":AA",
    "eyJ",
    "npm_",
)


def token_format(text: str) -> tuple[str, str] | None:
    """(format name, matched token) of the first well-known credential format in ``text``."""
    for lit in TOKEN_LITERALS:
        if lit in text:
            return _token_format(text)
    return None


def _token_format(text: str) -> tuple[str, str] | None:
    """:func:`token_format` without the prefilter (the reference the tests compare it with)."""
    for name, pat in TOKEN_FORMATS:
        m = pat.search(text)
        if m and not _TOKEN_PLACEHOLDER.search(m.group(0)):
            return name, m.group(0)
    return None


# -- values -------------------------------------------------------------------------------------------

ValueKind = Literal["reference", "not_secret", "placeholder", "weak", "strong", "token"]


@dataclass(frozen=True)
class ValueClass:
    kind: ValueKind
    reason: str

    @property
    def literal(self) -> bool:
        return self.kind in ("weak", "strong", "token")


_REFERENCE = re.compile(
    r"\$[{(A-Za-z_0-9@*#?!-]|\{\{|\{%|<%|%\(|`|^@|\$\$|"
    r"\b(?:os\.environ|os\.getenv|getenv|process\.env|ENV\[|lookup\(|secretKeyRef|valueFrom|vault[:(])|"
    r"^!vault$|^\$ANSIBLE_VAULT;|^(?:env|file|fd|stdin):|^/|^\.{1,2}/|^~/|^%[A-Z_]+%$",
)
# Words that name a placeholder, or the thing a real value would be (a value containing them
# names what it stands for: `mysecret`, `basic-auth-secret`, `xoxb-my-bot-token`, `secret_ket`).
_PLACEHOLDER_WORDS = (
    "changeme",
    "change_me",
    "change-me",
    "changeit",
    "example",
    "sample",
    "placeholder",
    "dummy",
    "fake",
    "replace",
    "your",
    "redacted",
    "todo",
    "tbd",
    "fixme",
    "foobar",
    "secret",
    "password",
    "passwd",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "insert",
    "default",
    "xxxx",
    "****",
    "....",
    "qwerty",
    "asdf",
    "12345",
    "abcdef",
    "abcd",
    "test",
    "demo",
    "notreal",
    "something",
    "mykey",
)
_PLACEHOLDER_EXACT = frozenset(
    (
        "pass",
        "pw",
        "pwd",
        "admin",
        "root",
        "user",
        "guest",
        "foo",
        "bar",
        "baz",
        "key",
        "none",
        "null",
        "nil",
        "empty",
        "prom",
        "grafana",
        "vagrant",
        "ubuntu",
        "debian",
        "letmein",
        "welcome",
        "secret",
        "password",
        "mysql",
        "postgres",
        "redis",
        "private",
        "public",
        "id",
    )
)
_NOT_SECRET_WORDS = frozenset(
    (
        "true",
        "false",
        "yes",
        "no",
        "on",
        "off",
        "read",
        "write",
        "read-write",
        "readwrite",
        "none",
        "required",
        "optional",
        "prompt",
        "enabled",
        "disabled",
        "auto",
        "inherit",
        "ignore",
        "always",
        "never",
        "plain",
        "login",
        "md5",
        "sha256",
        "sha512",
        "bcrypt",
        "scram-sha-256",
        "peer",
        "trust",
        "ident",
        "cert",
        "basic",
        "bearer",
        "oauth",
        "oauth2",
        "jwt",
        "header",
        "query",
        "cookie",
        "random",
        "generate",
        "generated",
        "file",
        "env",
        "stdin",
        "keyring",
        "vault",
        "hidden",
        "string",
        "str",
        "int",
        "bool",
        "text",
        "invalid",
        "unset",
        "undefined",
        "changed",
        "missing",
    )
)
_VERSION = re.compile(r"^[\^~<>=v]*\d+(?:\.[\dx*]+)+(?:[-+][\w.]+)?$|^(?:latest|stable|\*)$")
_PLACEHOLDER_SHAPE = re.compile(
    r"^<[^>]*>$|^\[[^\]]*\]$|^_{1,2}[A-Z_]+_{1,2}$|^\{[A-Za-z_]+\}$|^([A-Za-z0-9*x.])\1{3,}$"
)
# An environment variable's name given as the value (`token: "UPDATECLI_GITHUB_TOKEN"`): a reference.
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")


def entropy(s: str) -> float:
    """Shannon entropy in bits per character."""
    if not s:
        return 0.0
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


def _classes(s: str) -> int:
    return sum(bool(re.search(p, s)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]"))


def is_placeholder_text(v: str) -> bool:
    low = v.lower()
    if low in _PLACEHOLDER_EXACT or _PLACEHOLDER_SHAPE.match(v):
        return True
    return any(w in low for w in _PLACEHOLDER_WORDS if w not in ("secret", "password", "token", "test"))


@functools.lru_cache(maxsize=16384)
def classify_value(value: str, key: str = "") -> ValueClass:
    """What a value assigned to a secret-named ``key`` is (see the module docstring; pure and
    the answer immutable: memoised)."""
    v = value.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
        v = v[1:-1]
    if not v:
        return ValueClass("not_secret", "empty")
    if _REFERENCE.search(v):
        return ValueClass("reference", "a variable, lookup or file reference")
    low = v.lower()
    if low in _NOT_SECRET_WORDS or _VERSION.match(v) or re.fullmatch(r"-?\d{1,4}", v):
        return ValueClass("not_secret", "not a credential value")
    if _ENV_NAME.match(v):
        return ValueClass("reference", "names an environment variable")
    fmt = token_format(v)
    if fmt:
        return ValueClass("token", fmt[0])
    if key and _PAGERDUTY.match(v) and entropy(v) > 3.5 and not is_placeholder_text(v):
        segs = {s.lower() for s in key_segments(key)}
        if segs & {"service", "routing", "integration"}:
            return ValueClass("token", "PagerDuty integration key")
    if is_placeholder_text(v):
        return ValueClass("placeholder", "a placeholder value")
    # A value spelling the key's own words (`access_key: access_key`, `token: token123`, `mysecret`).
    stripped = low
    for w in (
        *(s.lower() for s in key_segments(key)),
        "secret",
        "password",
        "passwd",
        "token",
        "key",
        "my",
        "inline",
        "test",
    ):
        if len(w) >= 2:
            stripped = stripped.replace(w, "")
    if len(re.sub(r"[^a-z0-9]", "", stripped)) < 4:
        return ValueClass("placeholder", "names what it stands for")
    if any(w in low for w in ("secret", "password", "token", "test")):
        return ValueClass("placeholder", "names what it stands for")
    if " " in v.strip():
        return ValueClass("not_secret", "prose, not a credential")
    return _strength(v)


def _strength(v: str) -> ValueClass:
    n, cls, h = len(v), _classes(v), entropy(v)
    if n >= 20 and h >= 3.5 and cls >= 2:
        return ValueClass("strong", "random-looking value")
    if n >= 16 and re.fullmatch(r"[0-9a-fA-F]+", v) and h >= 3.0:
        return ValueClass("strong", "hex key material")
    if n >= 10 and cls >= 3 and h >= 3.0:
        return ValueClass("strong", "mixed-character password")
    if n >= 8 and re.fullmatch(r"[a-z]+", v):
        vowels = sum(ch in "aeiouy" for ch in v) / n
        if vowels >= 0.28:
            return ValueClass("weak", "a word or passphrase")
    return ValueClass("weak", "a short or simple literal")


# -- where values are searched -----------------------------------------------------------------------

_LOCKFILES = frozenset(
    (
        "package-lock.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "go.sum",
        "cargo.lock",
        "poetry.lock",
        "composer.lock",
        "gemfile.lock",
        "pipfile.lock",
        "uv.lock",
        "flake.lock",
        "npm-shrinkwrap.json",
    )
)
_VENDORED = re.compile(r"(^|/)(node_modules|vendor|third_party|third-party|bower_components|\.git)/")
_TEST_PATH = re.compile(
    r"(^|/)(tests?|testdata|testing|fixtures?|__tests__|spec|e2e|mocks?)(/|$)|"
    r"(_test\.\w+|\.test\.\w+|_spec\.\w+|\.spec\.\w+|^test_[^/]*|/test_[^/]*|\.env\.testing)$"
)
_CI_PATH = re.compile(
    r"(^|/)(\.github/workflows/|\.gitlab-ci\.ya?ml$|\.circleci/|\.drone\.ya?ml$|Jenkinsfile$)"
)


def not_an_artifact(path: str) -> bool:
    """Lockfiles and vendored code hold package names and hashes, never this deployment's secrets."""
    return posixpath.basename(path).lower() in _LOCKFILES or bool(_VENDORED.search(path))


def is_test_fixture(path: str) -> bool:
    """Test fixtures carry made-up credentials on purpose; only real token formats matter there."""
    return bool(_TEST_PATH.search(path))


_TEMPLATE_NAME = re.compile(
    r"(?i)(\.(example|sample|template|dist|tmpl|tpl|default)$|(^|[._-])(example|sample|template)[._-])"
)


def is_template_file(path: str) -> bool:
    """`.env.example`, `config.sample.yml`: the file says it is a template to copy and fill in."""
    return bool(_TEMPLATE_NAME.search(posixpath.basename(path)))


def is_ci_config(path: str) -> bool:
    """CI pipelines configure throwaway test services; a placeholder there is not a deployment's."""
    return bool(_CI_PATH.search(path))


def markdown_code_lines(lines: list[str]) -> set[int]:
    """1-based lines inside fenced or indented code blocks: prose is never searched for secrets."""
    out: set[int] = set()
    fence: str | None = None
    prev_blank = True
    for i, ln in enumerate(lines, 1):
        s = ln.strip()
        m = re.match(r"^\s{0,3}(`{3,}|~{3,})", ln)
        if fence is None and m:
            fence = m.group(1)[0] * 3
            continue
        if fence is not None:
            if s.startswith(fence):
                fence = None
            else:
                out.add(i)
            continue
        if ln.startswith(("    ", "\t")) and s and (prev_blank or i - 1 in out):
            out.add(i)
        prev_blank = not s
    return out


def shannon_is_random(v: str) -> bool:
    return _strength(v).kind == "strong"
