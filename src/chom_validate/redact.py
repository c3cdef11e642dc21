"""The one redaction function every output goes through.

Findings redact their message and excerpts in model validators, so terminal, JSON, SARIF, JUnit and
reports can only ever see redacted text. Secrets are replaced by ``***REDACTED***``; the key or flag
that introduced them stays visible so a reader still knows *what* leaked and where.
"""

from __future__ import annotations

import re

MASK = "***REDACTED***"

_SECRET_WORDS = (
    r"pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|"
    r"auth(?:_token)?|credentials?|client[_-]?secret|smtp_auth_password|bearer_token|webhook_url|"
    r"slack_api_url|dsn"
)

# key = value / key: value / KEY="value" / --password=value / --password value
_KEY_VALUE = re.compile(
    # `key: value` needs the YAML space after the colon (so `secret.yml:12:` in a message stays readable);
    # a closing quote after the key covers JSON (`"password": "..."`).
    rf"(?<![/\w.-])(?P<key>(?:[A-Za-z0-9_.-]*?)(?:{_SECRET_WORDS})[A-Za-z0-9_.-]*['\"]?\s*(?:=\s*|:\s+|:(?=['\"])))"
    r"(?P<q>['\"]?)(?P<val>[^\s'\"]+)(?P=q)",
    re.IGNORECASE,
)
_FLAG_VALUE = re.compile(
    rf"(?P<key>--?(?:[A-Za-z0-9_-]*?)(?:{_SECRET_WORDS})[A-Za-z0-9_-]*(?:\s+|=))"
    r"(?P<q>['\"]?)(?P<val>[^\s'\"-][^\s'\"]*)(?P=q)",
    re.IGNORECASE,
)
# mysql -pSECRET (short flag glued to value); -p alone (prompt) is fine.
_MYSQL_P = re.compile(
    r"(?P<key>(?:^|\s)(?:mysql|mysqldump|mysqladmin|mariadb)\b[^|;&\n]*?\s-p)(?P<val>[^\s'\"]+)"
)
# htpasswd -b[c] file user PASSWORD
_HTPASSWD = re.compile(
    r"(?P<key>\bhtpasswd\s+-[a-zA-Z]*b[a-zA-Z]*\s+\S+\s+\S+\s+)(?P<q>['\"]?)(?P<val>[^\s'\"]+)(?P=q)"
)
# scheme://user:password@host and curl -u user:password
_URL_CRED = re.compile(
    r"(?<![a-zA-Z0-9+.-])(?P<key>[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]+:)(?P<val>[^\s@/]+)(?=@)"
)
_CURL_U = re.compile(r"(?P<key>(?:-u|--user)\s+['\"]?[^\s:'\"]+:)(?P<val>[^\s'\"]+)")
_AUTH_HEADER = re.compile(
    r"(?P<key>Authorization:\s*(?:Bearer|Basic|Token)\s+)(?P<val>[A-Za-z0-9._~+/=-]+)", re.I
)
_PRIVATE_KEY = re.compile(
    r"-----BEGIN (?P<kind>[A-Z0-9 ]*PRIVATE KEY)-----.*?(?:-----END (?P=kind)-----|$)", re.DOTALL
)
# Well-known token shapes, redacted wherever they appear.
_TOKENS = re.compile(
    r"\b(?:AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}|glpat-[A-Za-z0-9_-]{20,}|xox[abpr]-[A-Za-z0-9-]{10,}|"
    r"sk_live_[A-Za-z0-9]{16,}|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}|"
    r"hooks\.slack\.com/services/[A-Za-z0-9/]+)"
)

# Values that are obviously not secrets: variable references, placeholders, empty.
_NOT_SECRET = re.compile(
    r"^(?:\$\{?[A-Za-z_][A-Za-z0-9_]*(?::?[-=?+][^}]*)?\}?|\{\{.*\}\}|<[^>]*>|\*+|true|false|yes|no|none|null|"
    r"required|optional|prompt|file|/[^\s]*|\$\(.*|%\(.*)$",
    re.IGNORECASE,
)

_extra_patterns: list[re.Pattern[str]] = []


def register_pattern(pattern: str | re.Pattern[str]) -> None:
    """Add a pattern whose whole match (or group ``val``) is always redacted (used by plugins/config)."""
    _extra_patterns.append(re.compile(pattern) if isinstance(pattern, str) else pattern)


def _sub_val(match: re.Match[str]) -> str:
    val = match.group("val")
    if _NOT_SECRET.match(val):
        return match.group(0)
    start, end = match.span("val")
    base = match.start(0)
    whole = match.group(0)
    return whole[: start - base] + MASK + whole[end - base :]


def redact(text: str | None) -> str:
    """Return ``text`` with anything that looks like a secret replaced by ``***REDACTED***``."""
    if not text:
        return text or ""
    out = _PRIVATE_KEY.sub(lambda m: f"-----BEGIN {m.group('kind')}-----{MASK}", text)
    out = _TOKENS.sub(MASK, out)
    for pat in (_URL_CRED, _CURL_U, _AUTH_HEADER, _HTPASSWD, _MYSQL_P, _FLAG_VALUE, _KEY_VALUE):
        out = pat.sub(_sub_val, out)
    for pat in _extra_patterns:
        out = pat.sub(lambda m: _sub_val(m) if "val" in m.groupdict() else MASK, out)
    return out


def looks_like_placeholder(value: str) -> bool:
    """True for values that are references or placeholders rather than real secrets."""
    v = value.strip().strip("'\"")
    if not v or _NOT_SECRET.match(v):
        return True
    low = v.lower()
    return any(
        p in low
        for p in (
            "changeme",
            "change_me",
            "change-me",
            "example",
            "placeholder",
            "xxx",
            "todo",
            "tbd",
            "your_",
            "<",
        )
    )
