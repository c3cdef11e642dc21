"""Install steps that are not safe to re-run: a template copied over the live credentials or
configuration it was meant to seed, in scripts and in Makefile recipes.

Built on the shell model (``chom_validate.artifacts.shell``) and the Makefile recipes read as shell
(``chom_validate.facts.shell_program.recipe_scripts``); the template's text comes from the target's
own files (``ctx.files()``/``ctx.read_text()``), so the finding can quote its placeholder.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass

from chom_validate.api import Context as ScanContext
from chom_validate.artifacts import Artifact
from chom_validate.artifacts.shell import Command, ShellScript
from chom_validate.facts.shell_program import recipe_scripts
from chom_validate.findings import Evidence, Result
from chom_validate.registry import check

from ._shell_semantics_util import _TEST_DIR

# Files whose live copy holds what the operator filled in: credentials, keys, env/profile files.
_STATE_FILE = re.compile(
    r"(?i)^(\.env(\..+)?|.+\.env(\.sh)?|pw(\.txt)?|.*passw(or)?d.*|.*passphrase.*|.*secrets?(\.\w+)?|"
    r".*credentials?(\.\w+)?|.*tokens?(\.\w+)?|.*api[-_]?keys?(\.\w+)?|.+\.(key|pem|p12|pfx|jks|keystore)|"
    r"\.netrc|\.pgpass|\.my\.cnf|\.?htpasswd)$"
)
# Sources that are templates by name (`.env.example`, `config.sample.yml`, `app.conf.tpl`).
_TEMPLATE_NAME = re.compile(r"(?i)(^|[._-])(example|sample|template|tpl|dist)([._-]|$)")
_TEMPLATE_SUFFIX = re.compile(r"(?i)[._-](example|sample|template|tpl|dist)$")
# Values an operator must replace: `<b2-key-id>`, `*EDIT*`, `changeme`, `your-token-here`.
_PLACEHOLDER = re.compile(
    r"(?<![<\w])<[a-zA-Z][\w .:/-]{1,60}>(?![\w>])|\*EDIT\*|(?i:\b(change[-_ ]?me|replace[-_ ]?me|"
    r"your[-_][a-z][\w-]*(here)?|xxxxx*|todo:? ?set)\b)"
)
_SECRET_ASSIGN = re.compile(r"(?i)\b\w*(pass|secret|token|key|credential)\w*\s*[=:]")
_TMP_DEST = re.compile(r"(?i)^(/tmp/|/var/tmp/|\$\{?(tmp|temp|tmpdir|workdir|build\w*|dist)\b|(build|dist)/)")
_MAX_TEMPLATE_BYTES = 64 * 1024


@dataclass
class _Copy:
    cmd: Command
    sources: list[str]
    dest: str
    dest_is_dir: bool
    no_clobber: bool
    backup: bool


_VALUE_OPTS = {
    "cp": {"-t", "--target-directory", "-S", "--suffix"},
    "install": {
        "-m",
        "--mode",
        "-o",
        "--owner",
        "-g",
        "--group",
        "-S",
        "--suffix",
        "-B",
        "-t",
        "--target-directory",
    },
}


def _copy(c: Command) -> _Copy | None:
    """A `cp`/`install` of files (not directories, not `install -d`), its operands and options."""
    name = c.name.rsplit("/", 1)[-1]
    if name not in _VALUE_OPTS:
        return None
    value_opts = _VALUE_OPTS[name]
    args = c.argv[1:]
    operands: list[str] = []
    short = ""
    longs: list[str] = []
    target_dir: str | None = None
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            operands += args[i + 1 :]
            break
        if a in value_opts:
            if a in ("-t", "--target-directory") and i + 1 < len(args):
                target_dir = args[i + 1]
            if a in ("-S", "--suffix", "-B"):
                short += "b"
            i += 2
            continue
        if a.startswith("--"):
            longs.append(a)
        elif a.startswith("-") and len(a) > 1:
            short += a[1:]
        else:
            operands.append(a)
        i += 1
    if name == "install" and "d" in short:
        return None
    if name == "cp" and ("r" in short.lower() or "a" in short or "--recursive" in longs):
        return None  # a tree copy: judged by what it copies, which this check does not resolve
    if target_dir is not None:
        if not operands:
            return None
        srcs, dest, is_dir = operands, target_dir, True
    else:
        if len(operands) < 2:
            return None
        srcs, dest, is_dir = operands[:-1], operands[-1], len(operands) > 2 or operands[-1].endswith("/")
    no_clobber = (name == "cp" and "n" in short) or any(
        x in ("--no-clobber",) or x.startswith("--update=none") for x in longs
    )
    backup = "b" in short or any(x.startswith(("--backup", "--suffix")) for x in longs)
    return _Copy(c, srcs, dest, is_dir, no_clobber, backup)


def _unquote(w: str) -> str:
    return w.replace('"', "").replace("'", "")


def _tree_files(ctx: ScanContext) -> dict[str, int]:
    def build() -> dict[str, int]:
        try:
            return {f.path: f.size for f in ctx.files()}
        except Exception:  # a target that cannot list its files: nothing to resolve against
            return {}

    files: dict[str, int] = ctx.derived(("shell_install_state.files",), build)
    return files


def _relative(word: str) -> str | None:
    """The literal path part of a word (`"$SCRIPT_DIR/etc/app.env.example"` -> etc/app.env.example)."""
    w = _unquote(word)
    m = re.match(r"^(?:\$\{?[A-Za-z_]\w*\}?|\$\([^)]*\))+/?", w)
    if m:
        w = w[m.end() :]
    if "$" in w or not w or "`" in w:
        return None
    return posixpath.normpath(w.lstrip("./") if w.startswith("./") else w)


def _resolve(word: str, base: str, files: dict[str, int]) -> list[str]:
    """Tree files a source word names: relative to the script's directory or the tree root; a
    make `%` pattern names the files under its directory; a build directory in front of the path
    (`build/etc/app/%` when the build step copies `etc/app/%` there) is looked through."""
    rel = _relative(word)
    if rel is None or rel.startswith("/"):
        rel = rel.lstrip("/") if rel else None
        if rel is None:
            return []
    parts = rel.split("/")
    for drop in range(0, min(3, len(parts))):
        cand = "/".join(parts[drop:])
        for root in dict.fromkeys((base, "")):
            path = posixpath.normpath(posixpath.join(root, cand)) if root else cand
            if "%" in path:
                d = posixpath.dirname(path)
                hits = sorted(
                    p for p in files if d and p.startswith(d + "/") and p.count("/") == d.count("/") + 1
                )
                if hits:
                    return hits
            elif path in files:
                return [path]
    return []


def _placeholder(ctx: ScanContext, path: str, size: int) -> tuple[int, str] | None:
    if size > _MAX_TEMPLATE_BYTES:
        return None
    text = ctx.read_text(path)
    if not text:
        return None
    for i, ln in enumerate(text.splitlines(), 1):
        if ln.lstrip().startswith(("#", "//")) and "*EDIT*" not in ln:
            continue
        m = _PLACEHOLDER.search(ln)
        if m:
            return i, m.group(0)
    return None


def _holds_secrets(ctx: ScanContext, path: str, size: int) -> bool:
    if size > _MAX_TEMPLATE_BYTES:
        return False
    text = ctx.read_text(path) or ""
    return any(_SECRET_ASSIGN.search(ln) and _PLACEHOLDER.search(ln) for ln in text.splitlines())


_TEST_EXISTS = re.compile(r"(?:-[efsLhr]|\s-a)\s+[\"']?([^\s\"';\]]+)")


def _guarded(art: Artifact, script: ShellScript, cp: _Copy) -> bool:
    """An existence test on the destination decides whether the copy runs (`[ -e dest ] || cp`,
    `if [ ! -f dest ]; then cp ...`), or the destination is a fresh temporary or build directory."""
    dest = _unquote(cp.dest)
    keys = {dest, posixpath.basename(dest.rstrip("/"))}
    m = re.match(r"^\$\{?([A-Za-z_]\w*)", dest)
    if m:
        keys.add(m.group(1))
        if any(n == m.group(1) and "mktemp" in v for n, v, _ in script.assignments):
            return True
    if _TMP_DEST.match(dest):
        return True

    def tests_dest(text: str) -> bool:
        return any(
            _unquote(t.group(1)) in keys or any(k and k in _unquote(t.group(1)) for k in keys if len(k) > 2)
            for t in _TEST_EXISTS.finditer(text)
        )

    if tests_dest(cp.cmd.logical):
        return True
    ind = len(art.line_text(cp.cmd.line)) - len(art.line_text(cp.cmd.line).lstrip())
    for ln in range(cp.cmd.line - 1, max(0, cp.cmd.line - 15), -1):
        t = art.line_text(ln)
        if not t.strip():
            continue
        i2 = len(t) - len(t.lstrip())
        if i2 < ind:
            if re.match(r"^\s*(if|elif|until|while)\b", t) and tests_dest(t):
                return True
            if re.match(r"^\s*(\w[\w-]*\s*\(\)|function\b|[^\s:]+:)", t):
                break  # the enclosing function or make rule starts here
            ind = i2
    return False


def _finding(
    ctx: ScanContext, art: Artifact, script: ShellScript, cp: _Copy, files: dict[str, int]
) -> Result | None:
    if cp.no_clobber or _guarded(art, script, cp):
        return None
    recipe = art.meta.get("make_recipes", {}).get(cp.cmd.line) if art.meta.get("make_recipes") else None
    if recipe is not None and not recipe.prereqs.strip() and "/" in recipe.rule:
        return None  # a file target with no prerequisites: make runs it only when the file is missing
    base = posixpath.dirname(art.path)
    hits: list[tuple[str, str, tuple[str, int, str] | None]] = []  # (installed name, source, placeholder)
    found: tuple[int, str] | None
    for src in cp.sources:
        resolved = _resolve(src, base, files)
        src_name = posixpath.basename(_unquote(src))
        named_template = bool(_TEMPLATE_NAME.search(src_name))
        if "%" in src:
            targets = [(posixpath.basename(p), p) for p in resolved]
        else:
            dest_name = (
                _TEMPLATE_SUFFIX.sub("", src_name)
                if cp.dest_is_dir
                else posixpath.basename(_unquote(cp.dest))
            )
            targets = [(dest_name, resolved[0] if resolved else "")]
        for dest_name, path in targets:
            found = _placeholder(ctx, path, files[path]) if path else None
            if not (named_template or found):
                continue
            if _TEMPLATE_NAME.search(dest_name):
                continue  # a template installed as a template (`.env.example` next to the live file)
            secret = bool(_STATE_FILE.match(dest_name)) or (
                bool(path) and _holds_secrets(ctx, path, files[path])
            )
            if not secret:
                continue
            hits.append((dest_name, path or src, (path, found[0], found[1]) if found else None))
    if not hits:
        return None
    names = ", ".join(dict.fromkeys(h[0] for h in hits))
    ph = next((h[2] for h in hits if h[2]), None)
    quoted = f" (they hold placeholders such as `{ph[2]}`)" if ph else ""
    backup = "; `-b` keeps the real values only in a backup file nothing reads" if cp.backup else ""
    when = (
        "whenever the template is newer than the installed file (a fresh clone, any edit of the template)"
        if recipe is not None
        else "on every re-run"
    )
    evidence = [art.evidence(cp.cmd.line, note="copies the template over the live file, no existence test")]
    if ph:
        evidence.append(
            Evidence(path=ph[0], line=ph[1], excerpt=ph[2], note="template value the copy installs")
        )
    return Result.fail(
        f"{art.path}: re-running this install step replaces live credentials/configuration ({names}) with "
        f"the template{quoted} {when}{backup}",
        *evidence,
        subject=f"{art.path}:{cp.cmd.line + art.line_offset}",
    )


@check("DEP058", "install-overwrites-live-state", category="deploy", severity="medium", pillar="reliability")
def install_overwrites_live_state(ctx: ScanContext) -> Iterator[Result]:
    """An install step that seeds credentials or live configuration from a template does not
    overwrite them when it runs again.

    What it does
        Finds `cp`/`install` commands, in scripts and in Makefile recipes, whose source is a
        template (named `*.example`, `*.sample`, `*.template`, `*.dist`, or a file of the tree
        holding placeholders such as `<password>`, `*EDIT*`, `changeme`) and whose destination
        holds what the operator filled in: credentials, keys, `.env`/profile files (`pw.txt`,
        `*.key`, `credentials`, `*.env.sh`), or a file whose template assigns secret-named
        settings. Not reported when the copy cannot overwrite: `cp -n`/`--update=none`, an
        existence test on the destination (`[ -e dest ] ||`, `if [ ! -f dest ]`), a fresh
        `mktemp`/build destination, a make file target without prerequisites, a template installed
        as a template (`.env.example`), or a test harness script. The copy is the first
        evidence, the template's placeholder the second.
    Why it matters
        Install and upgrade steps are re-run (a new release, `make install` from a fresh clone,
        a second provisioning pass). Each run puts the placeholders back over the real password,
        keys and repository settings: the next scheduled job fails to authenticate, and with
        `install -b` the real values survive only in a timestamped `.bak` nobody looks at.
    Example
        $(DEST_DIR_CONF)/%: $(BUILD_DIR_CONF)/%      # a Makefile: the recipe line starts with a tab
            install -m 0600 -b $< $@        # pw.txt holds <restic-encryption-password>
    Fix
        Seed the file only when it is missing: `cp -n`, `[ -e "$dest" ] || install -m 0600 "$tpl" "$dest"`,
        or an order-only prerequisite in make (`$(DEST)/pw.txt: | $(BUILD)/pw.txt`), and install
        new settings as `*.example` next to the live file.
    References
        https://www.gnu.org/software/make/manual/html_node/Prerequisite-Types.html
        https://www.gnu.org/software/coreutils/manual/html_node/cp-invocation.html
    Severity
        Medium: the credentials are lost on the host (a backup copy at best) and the jobs using
        them fail until someone restores them.
    """
    scripts = [
        (a, s) for a, s in ctx.parsed("shell") if not a.embedded and not _TEST_DIR.search(a.path)
    ] + recipe_scripts(ctx)
    copies = [(a, s, cp) for a, s in scripts for c in s.commands if (cp := _copy(c)) is not None]
    if not copies:
        yield Result.not_applicable("no cp/install commands in scripts or Makefile recipes")
        return
    files = _tree_files(ctx)
    failed: set[str] = set()
    for art, script, cp in copies:
        r = _finding(ctx, art, script, cp, files)
        if r is not None:
            failed.add(art.path)
            yield r
    for path in sorted({a.path for a, _, _ in copies} - failed):
        art = next(a for a, _, _ in copies if a.path == path)
        yield Result.passed(
            f"{path}: no install step copies a template over live credentials",
            art.evidence(1, note="every cp/install inspected"),
            subject=path,
        )
