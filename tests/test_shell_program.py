"""The shell-program model (facts/shell_program.py, facts/writes.py), the parser fixes it relies
on, and `chom-validate model` on the audited corpus trees."""

from __future__ import annotations

import time
from pathlib import Path

from chom_validate.artifacts import Artifact
from chom_validate.artifacts.shell import _parse_lines, parse_shell_text
from chom_validate.facts.shell_program import ShellProgram, _build, evaluate
from chom_validate.facts.writes import program_writes

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus"


def _programs(files: dict[str, str]) -> list[ShellProgram]:
    arts = [Artifact(path=p, kind="shell", text=t, digest="0") for p, t in files.items()]
    for a in arts:
        a.meta["shell"] = "sh" if a.text.startswith("#!/bin/sh") else "bash"
    return _build([(a, parse_shell_text(a.text, a.meta["shell"])) for a in arts])


def test_line_level_fallback_parses_assignments() -> None:
    s = _parse_lines("X=1\nY=$X/b\necho $Y\n")
    assert [(n, v) for n, v, _ in s.assignments] == [("X", "1"), ("Y", "$X/b")]


def test_test_commands_and_continuations_are_commands() -> None:
    s = parse_shell_text('if [ "$EUID" -ne 0 ]; then exit 1; fi\ncurl -fsSL \\\n  -o /tmp/x https://e/x\n')
    test = next(c for c in s.commands if c.name == "[")
    assert test.words[:3] == ["[", "$EUID", "-ne"] and "condition" in test.contexts
    curl = next(c for c in s.commands if c.name == "curl")
    assert (curl.line, curl.end_line) == (2, 3) and "\\" not in curl.text and "-o" in curl.words


def test_call_contexts_and_errexit_state() -> None:
    (p,) = _programs(
        {
            "deploy.sh": "#!/bin/bash\nset -e\nf() { false; }\nif f; then :; fi\nf || true\nx=$(f)\nf\n"
            "set +e\ng() { :; }\ng\n"
        }
    )
    kinds = sorted(why for _, _, why in p.suppressed_callers("f"))
    assert kinds == ["andor", "cmdsubst", "condition"]
    plain = next(c for a, c in p.calls("f") if not c.contexts)
    assert p.errexit_at(p.entry, plain)
    g = next(c for a, c in p.calls("g"))
    assert not p.errexit_at(p.entry, g)


def test_sourced_library_resolved_through_script_dir() -> None:
    progs = _programs(
        {
            "bin/deploy.sh": '#!/bin/bash\nSCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"\n'
            'source "$SCRIPT_DIR/../lib/common.sh"\nhelper\n',
            "lib/common.sh": "helper() { echo hi; }\n",
        }
    )
    (p,) = progs  # the library is not a program of its own
    assert [a.path for a, _ in p.units] == ["bin/deploy.sh", "lib/common.sh"]
    assert "helper" in p.functions and p.calls("helper")


def test_constants_defaults_and_string_ops() -> None:
    (p,) = _programs({"a.sh": '#!/bin/bash\nBASE=/opt/app\nREL="${BASE}/releases"\nPORT=${PORT:-8080}\n'})
    assert p.constants["REL"] == "/opt/app/releases" and p.constants["PORT"] == "8080"
    assert evaluate("${U%%:*}", {"U": "host:22:x"}) == "host"
    assert evaluate("$(basename /a/b.tar.gz)", {}) == "b.tar.gz"
    assert evaluate("$UNKNOWN/x", {}) is None


def test_wrappers_run_their_arguments() -> None:
    (p,) = _programs(
        {
            "a.sh": '#!/bin/bash\nrun() { local d="$1"; shift; "$@"; }\nexecute() { eval "$1"; }\n'
            'DB=app\nrun "Drop" mysql -e "DROP DATABASE x"\nexecute "mysqldump $DB > /tmp/d.sql"\n'
        }
    )
    assert p.wrappers == {"run": ("argv", 1), "execute": ("string", 1)}
    wrapped = {c.name: c for _, c in p.wrapped_commands()}
    assert wrapped["mysql"].line == 5
    assert wrapped["mysqldump"].words == ["mysqldump", "app"] and wrapped["mysqldump"].line == 6


def test_readonly_declarations() -> None:
    (p,) = _programs({"a.sh": "#!/bin/bash\nreadonly A=1\ndeclare -r B=2\nC=3\n"})
    assert set(p.readonly) == {"A", "B"}


def test_writes_with_modes_and_captured_heredocs() -> None:
    (p,) = _programs(
        {
            "a.sh": "#!/bin/bash\nDIR=/etc/wireguard\ncat << EOF > $DIR/wg0.conf\n[Interface]\nEOF\n"
            "chmod 600 $DIR/wg0.conf\ninstall -m 0640 x /etc/app/x.conf\n"
            "read -r -d '' UNIT <<'EOF'\n[Unit]\nDescription=x\nEOF\necho \"$UNIT\" > /etc/systemd/system/x.service\n"
        }
    )
    ws = {w.path: w for w in program_writes(p)}
    assert ws["/etc/wireguard/wg0.conf"].mode == "600" and ws["/etc/wireguard/wg0.conf"].line == 3
    assert ws["/etc/app/x.conf"].mode == "0640" and not ws["/etc/app/x.conf"].mode_assumed
    assert "Description=x" in (ws["/etc/systemd/system/x.service"].content or "")


def test_large_script_analyses_fast() -> None:
    body = "".join(
        f'step_{i}() {{\n  local out="/opt/app/{i}"\n  run_cmd "step {i}" mkdir -p "$out" | tee -a "$LOG"\n}}\nstep_{i}\n'
        for i in range(600)
    )
    text = '#!/bin/bash\nrun_cmd() { shift; "$@"; }\n' + body  # 3,000+ lines
    t0 = time.perf_counter()
    (p,) = _programs({"big.sh": text})
    p.wrapped_commands()
    assert len(text.splitlines()) > 3000
    assert time.perf_counter() - t0 < 2.0  # well under a second on an idle machine; margin for CI load


def test_one_line_and_quoted_case_arms_are_flags() -> None:
    s = parse_shell_text(
        'for a in "$@"; do case $a in --dry-run) DRY=1;; -f|--force) FORCE=1;; esac; done\n'
        'case "$1" in\n  "--purge") PURGE=1; shift ;;\n  \'--yes\') YES=1 ;;\nesac\n'
    )
    got = {k: (f.line, f.assigns) for k, f in s.flags.items()}
    assert got["--dry-run"] == (1, [("DRY", "1")])
    assert got["-f"] == got["--force"] == (1, [("FORCE", "1")])
    assert got["--purge"] == (3, [("PURGE", "1")]) and got["--yes"] == (4, [("YES", "1")])
