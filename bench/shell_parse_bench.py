"""Shell parser benchmark: a generated ~3,000-line deploy script, parsed by each candidate.

Run: .venv/bin/python bench/shell_parse_bench.py [--lines 3000] [--repeat 5]
Prints a Markdown table (seconds, ratio against plain line splitting and `bash -n` measured in the
same run) and whether each parser survived the whole script. Results go in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BLOCK = r"""
# --- component {i} -------------------------------------------------------------
install_component_{i}() {{
    local name="comp{i}" version="1.{i}.0"
    local -a files=("/etc/comp{i}/a.conf" "/etc/comp{i}/b.conf")
    declare -A ports=([http]=80{i:02d} [metrics]=91{i:02d})
    if [[ -f "${{STATE_DIR}}/comp{i}.done" ]]; then
        log_info "comp{i} already installed"
        return 0
    fi
    case "${{MODE:-install}}" in
        install|upgrade) log_info "installing $name $version" ;;
        remove) rm -rf "${{INSTALL_DIR:?}}/comp{i}"; return 0 ;;
        *) log_error "unknown mode"; return 1 ;;
    esac
    tmp=$(mktemp -d)
    curl -fsSL -o "$tmp/comp{i}.tgz" "https://example.com/comp{i}-${{version}}.tgz"
    echo "deadbeef  $tmp/comp{i}.tgz" | sha256sum -c -
    tar -xzf "$tmp/comp{i}.tgz" -C "$tmp"
    while read -r line; do
        [[ -z "$line" ]] && continue
        printf '%s\n' "$line" >> "$tmp/list"
    done < <(find "$tmp" -type f | sort)
    diff <(sort "$tmp/list") <(sort "/var/lib/comp{i}/list" 2>/dev/null || true) >/dev/null || true
    for f in "${{files[@]}}"; do
        install -m 0644 "$tmp/$(basename "$f")" "$f" 2>/dev/null || :
    done
    cat > /etc/systemd/system/comp{i}.service <<'EOF'
[Unit]
Description=Component {i}
After=network-online.target

[Service]
ExecStart=/usr/local/bin/comp{i} --port=${{PORT}}
Restart=on-failure
EOF
    (( count += 1 ))
    echo "${{ports[http]}} ${{#files[@]}}" | awk '{{print $1}}' | tee -a "$LOG_FILE" >/dev/null
    systemctl daemon-reload && systemctl enable --now "comp{i}" || log_warn "comp{i} failed"
    touch "${{STATE_DIR}}/comp{i}.done"
}}
"""

HEADER = """#!/usr/bin/env bash
set -euo pipefail
STATE_DIR=/var/lib/deploy/state
LOG_FILE=/var/log/deploy.log
count=0
log_info() { echo "$(date -Is) INFO $*" | tee -a "$LOG_FILE"; }
log_warn() { echo "$(date -Is) WARN $*" | tee -a "$LOG_FILE" >&2; }
log_error() { echo "$(date -Is) ERROR $*" | tee -a "$LOG_FILE" >&2; }
"""


def generate(lines: int) -> str:
    parts = [HEADER]
    i = 0
    while sum(p.count("\n") for p in parts) < lines - 10:
        parts.append(BLOCK.format(i=i % 100))
        i += 1
    parts.append("main() {\n" + "".join(f"    install_component_{k % 100}\n" for k in range(i)) + "}\n")
    parts.append('main "$@"\n')
    return "".join(parts)


def timed(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    text = generate(args.lines)
    n = text.count("\n")
    rows: list[tuple[str, float | None, str]] = []

    rows.append(("plain line splitting (baseline)", timed(lambda: text.splitlines(), args.repeat), "ok"))
    if shutil.which("bash"):
        with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as fh:
            fh.write(text)
        path = fh.name
        rc = subprocess.run(["bash", "-n", path], capture_output=True).returncode
        rows.append(
            (
                "`bash -n` (process start + syntax check)",
                timed(lambda: subprocess.run(["bash", "-n", path], capture_output=True), args.repeat),
                "ok" if rc == 0 else f"rc={rc}",
            )
        )
        Path(path).unlink()

    from chom_validate.artifacts.shell import _parse_lines, parse_shell_text

    rows.append(("chom-validate line-level layer", timed(lambda: _parse_lines(text), args.repeat), "ok"))
    script = parse_shell_text(text)
    status = f"{script.parser}, {len(script.commands)} commands, {len(script.functions)} functions"
    if script.warnings:
        status += f", warnings: {script.warnings[0]}"
    rows.append(
        ("chom-validate parse_shell_text (full)", timed(lambda: parse_shell_text(text), args.repeat), status)
    )

    try:
        import tree_sitter
        import tree_sitter_bash

        p = tree_sitter.Parser(tree_sitter.Language(tree_sitter_bash.language()))
        tree = p.parse(text.encode())
        rows.append(
            (
                "tree-sitter-bash parse only",
                timed(lambda: p.parse(text.encode()), args.repeat),
                "errors in tree" if tree.root_node.has_error else "ok, no ERROR nodes",
            )
        )
    except ImportError:
        rows.append(("tree-sitter-bash", None, "not installed"))

    try:
        import bashlex

        def bl() -> object:
            return bashlex.parse(text)

        try:
            t = timed(bl, 1)
            rows.append(("bashlex.parse (whole script)", t, "ok"))
        except Exception as exc:  # bashlex raises on constructs it does not support
            rows.append(
                ("bashlex.parse (whole script)", None, f"failed: {type(exc).__name__}: {str(exc)[:70]}")
            )
        ok = fail = 0
        t0 = time.perf_counter()
        for ln in text.splitlines():
            if not ln.strip() or ln.lstrip().startswith("#"):
                continue
            try:
                bashlex.parse(ln)
                ok += 1
            except Exception:
                fail += 1
        rows.append(
            ("bashlex per line (fallback mode)", time.perf_counter() - t0, f"{fail}/{ok + fail} lines fail")
        )
    except ImportError:
        rows.append(("bashlex", None, "not installed"))

    base = rows[0][1] or 1e-9
    bash_n = next((r[1] for r in rows if r[0].startswith("`bash -n`")), None)
    print(
        f"Script: {n} lines generated ({len(text)} bytes), best of {args.repeat}; Python {sys.version.split()[0]}\n"
    )
    print("| parser | seconds | x line split | x `bash -n` | result |")
    print("|---|---:|---:|---:|---|")
    for name, secs, st in rows:
        if secs is None:
            print(f"| {name} | - | - | - | {st} |")
            continue
        vs_bash = f"{secs / bash_n:.2f}" if bash_n else "-"
        print(f"| {name} | {secs:.4f} | {secs / base:.0f} | {vs_bash} | {st} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
