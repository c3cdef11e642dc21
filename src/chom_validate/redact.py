"""The one redaction function every output goes through.

Two layers. **By value**: every secret value a rule recognises anywhere in a run (argv options,
htpasswd passwords, URL/DSN userinfo, secret-named assignments, token formats, private keys) is
remembered in a run-wide set (`remember`), and `redact` masks those values wherever they appear,
in any context, even on a line no pattern understands. **By pattern**: for what was never parsed,
the shapes below (`key=value`, `--password X`, `user:pass@host`, token formats...).

Findings redact their message and excerpts in model validators, and every output format passes its
final text through `redact` again when it is written (by then the run-wide set is complete), so
terminal, JSON, SARIF, JUnit, GitLab and reports can only ever see redacted text. Secrets are
replaced by ``***REDACTED***``; the key or flag that introduced them, and the words around them,
stay visible so a reader still knows *what* leaked and where.
"""

from __future__ import annotations

import html
import json
import re
import threading
from typing import Any

MASK = "***REDACTED***"

_SECRET_WORDS = (
    r"pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|"
    r"auth(?:_token)?|credentials?|client[_-]?secret|smtp_auth_password|bearer_token|webhook_url|"
    r"slack_api_url|dsn"
)

# key = value / key: value / KEY="value" / --password=value / --password value
_KEY_VALUE = re.compile(
    # `key: value` needs the YAML space after the colon (so `secret.yml:12:` in a message stays readable);
    # a closing quote after the key covers JSON (`"password": "..."`). An unquoted `key: value` must end
    # the line or a flow item, so prose ("secret: cannot list directory") keeps its words.
    rf"(?<![/\w.-])(?P<key>(?:[A-Za-z0-9_.-]*?)(?:{_SECRET_WORDS})[A-Za-z0-9_.-]*['\"]?\s*(?:=\s*|:\s+|:(?=['\"])))"
    r"(?:(?P<q>['\"])(?P<qval>[^'\"\n]+)(?P=q)|(?P<val>[^\s'\"]+))",
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
# htpasswd -b[c] [-B -C 10 ...] file user PASSWORD (options may be split: `-b -c`); -n has no file.
_HTPASSWD = re.compile(  # -n: no file, `htpasswd -nb user PASSWORD`
    r"(?P<key>\bhtpasswd\s+(?=(?:-[a-zA-Z]+\s+(?:\d+\s+)?)*?-[a-zA-Z]*n)(?:-[a-zA-Z]+\s+(?:\d+\s+)?)+"
    r"(?P<user>[^-\s]\S*)\s+)(?P<q>['\"]?)(?P<val>[^\s'\"]+)(?P=q)"
)
_HTPASSWD_SIMPLE = re.compile(
    r"(?P<key>\bhtpasswd\s+(?![^\n|;&]*\s-[a-zA-Z]*n)(?=[^\n|;&]*-[a-zA-Z]*b)(?:-[a-zA-Z]+\s+(?:\d+\s+)?)*(?P<file>[^-\s]\S*)\s+(?P<user>[^-\s]\S*)\s+)"
    r"(?P<q>['\"]?)(?P<val>[^\s'\"]+)(?P=q)"
)
# user:password@host without a scheme: MySQL/Go DSNs (`exporter:pw@(localhost:3306)/`, `u:p@tcp(h)/db`).
_DSN = re.compile(
    r"(?P<key>(?:^|(?<=[\s=\"'(,]))[A-Za-z0-9_.+-]+:)(?P<val>[^\s:@/'\"()]{3,})(?=@(?:\(|tcp\(|unix\(|[A-Za-z0-9_.-]+[:/]))"
)
# Tools that take the password as the next word: redis-cli -a, sshpass -p, gpg --passphrase,
# openssl -passin pass:X, mariabackup/innobackupex --password X.
_NEXT_WORD = re.compile(
    r"(?P<key>(?:\bredis-cli\b[^|;&\n]*?\s(?:-a|--pass)|\bsshpass\b[^|;&\n]*?\s-p|\bgpg\b[^|;&\n]*?\s--passphrase)"
    r"\s+)(?P<q>['\"]?)(?P<val>[^\s'\"]+)(?P=q)"
)
_OPENSSL_PASS = re.compile(r"(?P<key>\bpass:)(?P<val>[^\s'\"]+)")
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

# Every pattern rule above needs at least one of these (case-insensitive) literals somewhere in the
# text: a secret word (`_KEY_VALUE`, `_FLAG_VALUE`, `pass:`, `htpasswd`, `sshpass`), `@` (`_URL_CRED`,
# `_DSN`), `-u`/`--user` + space (`_CURL_U`), `auth` (`_AUTH_HEADER`), a tool name (`_MYSQL_P`,
# `_NEXT_WORD`), the PEM armour or a token prefix (`_TOKENS`). A text with none of them cannot match
# any of those rules, so one search replaces eleven substitutions for most strings.
# tests/test_redaction_fastpath.py checks the equivalence on every line of the corpus and fixtures.
_MAY_MATCH = re.compile(
    rf"{_SECRET_WORDS}|@|-u\s|--user\s|mysql|mariadb|redis-cli|gpg|-----BEGIN|AKIA|gh[pousr]_|glpat-|xox[abpr]-|"
    r"sk_live_|eyJ|hooks\.slack\.com",
    re.IGNORECASE,
)

# -- the run-wide set of known secret values ------------------------------------------------------
_known: set[str] = set()
_known_re: re.Pattern[str] | None = None
_lock = threading.Lock()
# redact() results, valid for the current rules and value set: a report repeats the same strings
# (paths, subjects, messages already redacted once in the result validators) many times. Cleared,
# and `_generation` bumped, whenever a value or a pattern is added; a result computed under an older
# generation is never stored.
_memo: dict[str, str] = {}
_generation = 0
_MEMO_MAX = 200_000
_MEMO_MAX_LEN = 4096  # long texts (excerpts of whole files) are rarely repeated
# Too short or too common to mask everywhere without eating ordinary words.
_MIN_KNOWN = 4
# Words of the output formats themselves (statuses, severities, field values) are never masked as values.
_NEVER_KNOWN = frozenset(
    (
        "true",
        "false",
        "none",
        "null",
        "admin",
        "root",
        "password",
        "secret",
        "test",
        "pass",
        "fail",
        "error",
        "not_applicable",
        "critical",
        "high",
        "medium",
        "low",
        "info",
        "local",
        "waiver",
        "baseline",
        "passed",
        "failed",
        "warning",
        "note",
        "secrets",
        "security",
    )
)


def _invalidate() -> None:
    """Call with `_lock` held: the rules changed, forget every memoised result."""
    global _generation
    _generation += 1
    _memo.clear()


def remember(value: str | None) -> None:
    """Add a secret value to the run-wide set: every later `redact` masks it wherever it appears."""
    global _known_re
    if not value:
        return
    v = value.strip().strip("'\"")
    if len(v) < _MIN_KNOWN or v.lower() in _NEVER_KNOWN or MASK in v or "$" in v:
        return
    with _lock:
        if v in _known:
            return
        _known.add(v)
        # The JSON-escaped spelling too, so a value with a quote or backslash is masked in JSON output.
        # The JSON- and XML/HTML-escaped spellings too, so the final pass over a rendered document
        # masks a value holding a quote, `&` or `<`.
        for esc in (json.dumps(v)[1:-1], html.escape(v), html.escape(v, quote=False)):
            if esc != v:
                _known.add(esc)
        _known_re = None
        _invalidate()


def known_count() -> int:
    return len(_known)


def forget_all() -> None:
    """Empty the run-wide set (tests; a new run in the same process)."""
    global _known_re
    with _lock:
        _known.clear()
        _known_re = None
        _invalidate()


def _known_pattern() -> re.Pattern[str] | None:
    global _known_re
    if not _known:
        return None
    with _lock:
        if _known_re is None:
            try:
                _known_re = re.compile(_trie_alternation(_known))
            except (RecursionError, re.error):  # nesting sre cannot compile (hostile values): flat
                _known_re = re.compile("|".join(re.escape(a) for a in sorted(_known, key=len, reverse=True)))
        return _known_re


def _trie_alternation(words: set[str]) -> str:
    """A pattern matching the same as ``"|".join(sorted(words, key=len, reverse=True))`` (the longest
    word at the leftmost position), built as a trie: a flat alternation tries every word at every
    position of the text (a .env with 50k committed passwords made each output string cost 50k
    tries per character); the trie costs the length of the match."""
    trie: dict[str, Any] = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = None  # a word ends here
    built: dict[int, str] = {}
    stack: list[tuple[dict[str, Any], bool]] = [(trie, False)]
    while stack:  # post-order, iterative (a long value is a deep chain)
        node, done = stack.pop()
        if not done:
            stack.append((node, True))
            stack.extend((child, False) for k, child in node.items() if k)
            continue
        alts = [re.escape(k) + built.pop(id(child)) for k, child in sorted(node.items()) if k]
        pat = "" if not alts else alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        if "" in node and pat:  # a word ends here and longer ones go on: the longer first (greedy)
            pat = "(?:" + pat + ")?"
        built[id(node)] = pat
    return built[id(trie)]


def register_pattern(pattern: str | re.Pattern[str]) -> None:
    """Add a pattern whose whole match (or group ``val``) is always redacted (used by plugins/config)."""
    with _lock:
        _extra_patterns.append(re.compile(pattern) if isinstance(pattern, str) else pattern)
        _invalidate()


def _secret_key_name(key: str) -> bool:
    from .facts.secrets import is_secret_key  # late: facts import nothing from here, but keep it cheap

    name = key.strip().rstrip("=:").strip().strip("'\"")
    return is_secret_key(name) or bool(re.search(r"(?i)webhook|slack_api_url|dsn$|bearer|auth_token", name))


def _sub_val(match: re.Match[str]) -> str:
    group = "qval" if "qval" in match.groupdict() and match.group("qval") is not None else "val"
    val = match.group(group)
    if val is None or _NOT_SECRET.match(val) or MASK in val or val[:1] in ("=", "`", ")", ",", ";", "|"):
        return match.group(0)
    if not re.search(r"[A-Za-z0-9]", val):  # punctuation after an option in prose (`--password=`, ...)
        return match.group(0)
    if match.re in (_KEY_VALUE, _FLAG_VALUE) and not _secret_key_name(match.group("key").lstrip("-")):
        return match.group(0)  # `AUTH_MODE=pki`, `secret_name: x`: the key names no credential
    if group == "val" and "qval" in match.groupdict():
        # unquoted `key: value` in prose: only when the value ends the line or a flow item
        rest = match.string[match.end() :]
        colon = match.group("key").rstrip().endswith(":")
        if colon and rest and not re.match(r"\s*(?:$|[,}\]#\n])", rest):
            return match.group(0)
    start, end = match.span(group)
    base = match.start(0)
    whole = match.group(0)
    return whole[: start - base] + MASK + whole[end - base :]


def redact(text: str | None) -> str:
    """Return ``text`` with anything that looks like a secret replaced by ``***REDACTED***``."""
    if not text:
        return text or ""
    hit = _memo.get(text)
    if hit is not None:
        return hit
    generation = _generation
    out = _redact(text, prefilter=True)
    if len(text) <= _MEMO_MAX_LEN:
        with _lock:
            if generation == _generation:  # no value or pattern was added meanwhile
                if len(_memo) >= _MEMO_MAX:
                    _memo.clear()
                _memo[text] = out
    return out


def _redact(text: str, prefilter: bool) -> str:
    """`redact` without the memo; ``prefilter=False`` runs every rule (the reference, for tests)."""
    known = _known_pattern()
    if prefilter and not _MAY_MATCH.search(text):
        out = known.sub(MASK, text) if known is not None else text
        for pat in _extra_patterns:
            out = pat.sub(lambda m: _sub_val(m) if "val" in m.groupdict() else MASK, out)
        return out
    out = _PRIVATE_KEY.sub(lambda m: f"-----BEGIN {m.group('kind')}-----{MASK}", text)
    if known is not None:
        out = known.sub(MASK, out)
    out = _TOKENS.sub(MASK, out)
    for pat in (
        _URL_CRED,
        _DSN,
        _CURL_U,
        _AUTH_HEADER,
        _HTPASSWD,
        _HTPASSWD_SIMPLE,
        _NEXT_WORD,
        _OPENSSL_PASS,
        _MYSQL_P,
        _FLAG_VALUE,
        _KEY_VALUE,
    ):
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


def redact_values(text: str) -> str:
    """Mask only the run-wide known values: safe on rendered XML/HTML/JSON text, whose escaping the
    pattern rules could break (a rendered document is built from already-redacted findings)."""
    known = _known_pattern()
    return known.sub(MASK, text) if known is not None and text else text


def redact_tree(obj: Any) -> Any:
    """`redact` every string leaf of a JSON-like structure (keys stay), before it is serialized."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {k: redact_tree(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [redact_tree(v) for v in obj]
    return obj


class RedactingWriter:
    """A text stream that redacts everything written through it (terminal, errors, progress, explain).

    Rich writes a rendered print in one call, so a secret is never split across writes in practice;
    the run-wide value set is consulted at write time, so values found late in the run are masked too.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(redact(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for ln in lines:
            self.write(ln)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, encoding...
        return getattr(self._stream, name)
