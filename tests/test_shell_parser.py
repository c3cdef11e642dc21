"""The shell parser: commands, functions, assignments, heredocs, flags with line numbers; never crashes."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from chom_validate.artifacts.shell import parse_shell_text

SCRIPT = """#!/bin/bash
set -euo pipefail
usage() { echo "usage: $0 [--dry-run]"; }
while getopts "nr" opt; do
  case "$opt" in
    n) DRY_RUN=true ;;
    r) ROLLBACK=1 ;;
  esac
done
case "${1:-}" in
  --dry-run|-d) DRY_RUN=true ;;
esac
declare -A ports=([http]=80)
f() {
  cat > /etc/x.conf <<EOF
a=$1
EOF
  diff <(ls) <(ls /) | wc -l || true
}
sudo rm -rf "${DIR:?}/old" \\
   /tmp/b
"""


def test_structure_with_lines() -> None:
    s = parse_shell_text(SCRIPT)
    assert s.functions["usage"] == (3, 3) and s.functions["f"] == (14, 19)
    assert ("ports", "([http]=80)", 13) in s.assignments
    h = s.heredocs[0]
    assert (h.line, h.target, h.body_start) == (15, "/etc/x.conf", 16)
    rm = next(c for c in s.commands if c.name == "rm")
    assert (rm.line, rm.end_line, rm.argv[-1]) == (20, 21, "/tmp/b")
    cat = next(c for c in s.commands if c.name == "cat")
    assert cat.function == "f" and cat.redirects == [(">", "/etc/x.conf")]
    assert {"--dry-run", "-d", "-n", "-r"} <= set(s.flags)
    assert s.flags["--dry-run"].assigns == [("DRY_RUN", "true")]
    assert s.flags["-n"].line == 6
    wc = next(c for c in s.commands if c.name == "wc")
    assert wc.conditional and "|| true" in wc.logical


def test_broken_region_falls_back_with_warning() -> None:
    text = "#!/bin/bash\necho ok\nif then fi )(\nrm -rf /tmp/x\n"
    s = parse_shell_text(text)
    assert s.warnings and any(c.name == "rm" for c in s.commands)


def test_hostile_input_never_raises() -> None:
    for text in ["", "\x00\x01", "((((((", "cat <<EOF\nno end", "'" * 1000, "case x in\n" * 200]:
        parse_shell_text(text)


def test_3000_lines_parse_well_under_a_second() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from shell_parse_bench import generate

    text = generate(3000)
    t0 = time.perf_counter()
    s = parse_shell_text(text)
    assert time.perf_counter() - t0 < 1.0
    assert s.parser == "tree-sitter" and len(s.functions) > 50


def test_redirection_of_a_pipeline_belongs_to_its_last_command() -> None:
    """`a | gzip > f`: bash applies the redirection to the last command (tree-sitter hangs it on the
    pipeline), so the write of a compressed dump is seen where it happens."""
    s = parse_shell_text("#!/bin/bash\nmysqldump db | gzip > /backup/db.gz\na | tee f > /dev/null\nx > y | z\n")
    got = [(c.line, c.name, c.redirects) for c in s.commands]
    assert got == [
        (2, "mysqldump", []),
        (2, "gzip", [(">", "/backup/db.gz")]),
        (3, "a", []),
        (3, "tee", [(">", "/dev/null")]),
        (4, "x", [(">", "y")]),
        (4, "z", []),
    ]
