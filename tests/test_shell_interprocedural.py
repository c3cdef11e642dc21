"""Shell checks that follow values across calls and files: DEP012 through a function's positional
parameters, DEP058 (template copied over live credentials, in scripts and Makefile recipes),
DEP059 (a value set in a piped loop), and ShellCheck's agreeing comments as second evidence.

Each bad shape has the careful shape beside it, which must not fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from chom_validate.artifacts.base import Artifact
from chom_validate.artifacts.make import parse_makefile, recipe_script_text
from chom_validate.findings import Status
from chom_validate.shellcheck import find_shellcheck

from .conftest import findings, scan_tree


def _scan(tmp_path: Path, files: dict[str, str], check_id: str):  # type: ignore[no-untyped-def]
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    report = scan_tree(tmp_path, only=[check_id], serial=True)
    return findings(report, check_id, Status.FAIL), findings(report, check_id, Status.PASS)


# ---- DEP012 through positional parameters -----------------------------------------------------

_WIPE = """#!/usr/bin/env bash
set -eo pipefail
wipe() {
  local dir="$1"
  rm -rf "$dir/"*
}
"""


@pytest.mark.parametrize(
    ("call", "why"),
    [
        ('wipe "$CACHE_DIR"\n', "never sets"),  # environment, no set -u
        ('BUILD=$(jq -r .build cfg.json)\nwipe "$BUILD"\n', "command output"),
        ("wipe\n", "missing argument"),
        ('wipe ""\n', "empty string"),
        ('run() { wipe "$@"; }\nrun "$TARGET"\n', "never sets"),  # forwarded through "$@"
    ],
)
def test_rm_rf_follows_the_argument_to_the_call_site(tmp_path: Path, call: str, why: str) -> None:
    fails, _ = _scan(tmp_path, {"deploy.sh": _WIPE + call}, "DEP012")
    assert len(fails) == 1, fails
    f = fails[0]
    lines = [e.line for e in f.evidence]
    call_line = len((_WIPE + call).splitlines())
    assert lines[:2] == [5, call_line], lines  # the rm first, the call site second
    assert why in f.message and "rm -rf /" in f.message


@pytest.mark.parametrize(
    "call",
    [
        'wipe "/var/cache/app"\n',
        'CACHE=/var/cache/app\nwipe "$CACHE"\n',
        'for d in /tmp/a /tmp/b; do wipe "$d"; done\n',
        'wipe "${CACHE_DIR:?set CACHE_DIR}"\n',
        'wipe "$(mktemp -d)"\n',
        'set -u\nwipe "$CACHE_DIR"\n',  # unset aborts before the call
        'wipe "$HOME/.cache/app"\n',
    ],
)
def test_rm_rf_careful_call_sites_pass(tmp_path: Path, call: str) -> None:
    fails, passes = _scan(tmp_path, {"deploy.sh": _WIPE + call}, "DEP012")
    assert not fails, [f.message for f in fails]
    assert passes


def test_rm_rf_guard_inside_the_function_passes(tmp_path: Path) -> None:
    text = _WIPE.replace('  local dir="$1"\n', '  local dir="$1"\n  [ -n "$dir" ] || return 1\n')
    fails, _ = _scan(tmp_path, {"deploy.sh": text + 'wipe "$CACHE_DIR"\n'}, "DEP012")
    assert not fails


def test_rm_rf_follows_calls_into_a_sourced_library(tmp_path: Path) -> None:
    lib = 'wipe() {\n  rm -rf "$1/"*\n}\n'
    main = '#!/usr/bin/env bash\nset -e\n. "$(dirname "$0")/lib.sh"\nwipe "$DATA_DIR"\n'
    fails, _ = _scan(tmp_path, {"lib.sh": lib, "deploy.sh": main}, "DEP012")
    assert [(e.path, e.line) for f in fails for e in f.evidence] == [("lib.sh", 2), ("deploy.sh", 4)]
    ok, _ = _scan(
        tmp_path / "ok", {"lib.sh": lib, "deploy.sh": main.replace("$DATA_DIR", "/srv/data")}, "DEP012"
    )
    assert not ok


def test_rm_rf_in_a_makefile_recipe(tmp_path: Path) -> None:
    mk = "clean:\n\trm -rf $(OUT_DIR)/*\n"
    fails, _ = _scan(tmp_path, {"Makefile": mk}, "DEP012")
    assert [(e.path, e.line) for f in fails for e in f.evidence] == [("Makefile", 2)]
    ok, _ = _scan(tmp_path / "ok", {"Makefile": "OUT_DIR = build\nclean:\n\trm -rf $(OUT_DIR)/*\n"}, "DEP012")
    assert not ok


# ---- Makefile recipes as shell --------------------------------------------------------------------


def test_recipe_text_keeps_makefile_lines_and_expands_variables() -> None:
    text = "DEST = /etc/app\n\n$(DEST)/%: build/%\n\t@install -m 0600 $< $@ && echo $$HOME \\\n\t  done\nall:\n\t$(RM) x\n"
    art = Artifact("Makefile", "makefile", text, "0")
    out = recipe_script_text(art, parse_makefile(art)).splitlines()
    assert out[3] == "install -m 0600 build/% /etc/app/% && echo $HOME \\"
    assert out[4].strip() == "done"
    assert out[6] == "rm -f x"
    assert out[0] == out[1] == out[2] == out[5] == ""


def test_recipe_text_survives_an_expansion_bomb_and_cycles() -> None:
    import time

    lines = ["V0 = x", *(f"V{i} = " + f"$(V{i - 1})" * 10 for i in range(1, 30)), "A = $(A) y"]
    text = "\n".join([*lines, "all:", "\techo $(V29) $(A) $(V2)"]) + "\n"
    art = Artifact("Makefile", "makefile", text, "0")
    t0 = time.process_time()
    out = recipe_script_text(art, parse_makefile(art)).splitlines()
    assert time.process_time() - t0 < 1.0
    # 10**29 characters are never built: the long one stays a reference, the short one expands
    assert out[-1] == "echo ${V29} ${A} y " + "x" * 100


# ---- DEP058 template over live state ------------------------------------------------------------

_PW = {"etc/backup/pw.txt": "<backup-encryption-password>\n"}


@pytest.mark.parametrize(
    ("files", "where"),
    [
        ({"install.sh": "#!/bin/sh\nset -e\ncp .env.example .env\n", ".env.example": "DB_PASSWORD=\n"}, 3),
        (
            {
                "setup.sh": '#!/bin/bash\nset -e\nD="$(cd "$(dirname "$0")" && pwd)"\n'
                'install -m 0600 "$D/etc/backup/pw.txt" /etc/backup/pw.txt\n',
                **_PW,
            },
            4,
        ),
        ({"setup.sh": "#!/bin/bash\ncp conf/app.key.sample /etc/app/app.key\n"}, 2),
    ],
)
def test_template_over_live_credentials_in_scripts(tmp_path: Path, files: dict[str, str], where: int) -> None:
    fails, _ = _scan(tmp_path, files, "DEP058")
    assert len(fails) == 1, [f.message for f in fails]
    assert fails[0].evidence[0].line == where


@pytest.mark.parametrize(
    "script",
    [
        "cp -n .env.example .env\n",
        "[ -e .env ] || cp .env.example .env\n",
        "if [ ! -f .env ]; then\n  cp .env.example .env\nfi\n",
        "test -f .env || cp .env.example .env\n",
        'tmp=$(mktemp -d)\ncp .env.example "$tmp/.env"\n',
        "cp .env.example /tmp/render/.env\n",
        "install -b -m 0644 conf/nginx.conf.example /etc/nginx/nginx.conf\n",  # config with a backup, no secrets
        "cp README.example.md docs/README.md\n",
        "cp .env.example /opt/app/.env.example\n",  # the template next to the live file
    ],
)
def test_careful_seed_copies_pass(tmp_path: Path, script: str) -> None:
    files = {"install.sh": "#!/bin/sh\nset -e\n" + script, ".env.example": "DB_PASSWORD=changeme\n"}
    fails, passes = _scan(tmp_path, files, "DEP058")
    assert not fails, [f.message for f in fails]
    assert passes


def test_make_file_target_without_prerequisites_is_seeded_once(tmp_path: Path) -> None:
    mk = "install: /etc/backup/pw.txt\n\n/etc/backup/pw.txt:\n\tinstall -m 0600 etc/backup/pw.txt $@\n"
    fails, _ = _scan(tmp_path, {"Makefile": mk, **_PW}, "DEP058")
    assert not fails
    phony = "install:\n\tinstall -m 0600 etc/backup/pw.txt /etc/backup/pw.txt\n"
    fails, _ = _scan(tmp_path / "phony", {"Makefile": phony, **_PW}, "DEP058")
    assert [(e.path, e.line) for e in fails[0].evidence] == [("Makefile", 2), ("etc/backup/pw.txt", 1)]


# ---- DEP059 and ShellCheck as second evidence ------------------------------------------------------

_PIPED = """#!/usr/bin/env bash
set -e
found=""
grep -l app /etc/nginx/sites-enabled/* | while read -r site; do
  found="$site"
done
if [ -z "$found" ]; then echo "no site" >&2; exit 1; fi
"""


@pytest.mark.skipif(find_shellcheck() is None, reason="shellcheck binary missing")
def test_piped_loop_value_lost_with_shellcheck_agreeing(tmp_path: Path) -> None:
    fails, _ = _scan(tmp_path, {"check-site.sh": _PIPED}, "DEP059")
    assert len(fails) == 1
    notes = [(e.line, e.note or "") for e in fails[0].evidence]
    assert notes[0][0] == 5 and notes[1][0] == 7
    assert any(ln == 5 and "ShellCheck SC2030 agrees" in n for ln, n in notes)
    assert any(ln == 7 and "ShellCheck SC2031 agrees" in n for ln, n in notes)


@pytest.mark.parametrize(
    "fix",
    [
        lambda t: t.replace(
            "grep -l app /etc/nginx/sites-enabled/* | while read -r site; do", "while read -r site; do"
        ).replace("done\n", "done < <(grep -l app /etc/nginx/sites-enabled/*)\n"),
        lambda t: t.replace("set -e\n", "set -e\nshopt -s lastpipe\n"),
        lambda t: t.replace('if [ -z "$found" ]', 'found=$(cat /run/site)\nif [ -z "$found" ]'),
    ],
)
def test_piped_loop_careful_shapes_pass(tmp_path: Path, fix) -> None:  # type: ignore[no-untyped-def]
    fails, passes = _scan(tmp_path, {"check-site.sh": fix(_PIPED)}, "DEP059")
    assert not fails, [f.message for f in fails]
    assert passes


@pytest.mark.skipif(find_shellcheck() is None, reason="shellcheck binary missing")
def test_errexit_in_condition_cites_shellcheck_sc2310(tmp_path: Path) -> None:
    text = (
        "#!/usr/bin/env bash\nset -e\ninstall_app() {\n  apt-get install -y app\n"
        "  systemctl enable --now app\n}\nif install_app; then echo ok; fi\n"
    )
    fails, _ = _scan(tmp_path, {"install.sh": text}, "DEP044")
    assert len(fails) == 1
    ev = fails[0].evidence
    assert [e.line for e in ev[:2]] == [7, 4]
    assert ev[2].line == 7 and "ShellCheck SC2310 agrees at line 7" in (ev[2].note or "")
