"""Loading-layer guards, in-process: alias bombs, parser crashes reworded, one-line errors."""

from __future__ import annotations

import time

import pytest

from chom_validate.artifacts.base import Artifact, ArtifactParseError, bounded_excerpt, parser
from chom_validate.artifacts.yamlfile import load_yaml, load_yaml_safe
from chom_validate.targets.base import TargetProblem


def _bomb(levels: int = 9, width: int = 9) -> str:
    out = ['l0: &l0 "lol"']
    out += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("load", [load_yaml, load_yaml_safe])
def test_alias_bomb_refused_quickly(load) -> None:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    with pytest.raises(ArtifactParseError, match="alias bomb"):
        load(_bomb())
    assert time.perf_counter() - t0 < 2


def test_ordinary_anchors_still_load() -> None:
    doc = "x-base: &base {image: nginx, restart: always}\nservices:\n  a: {<<: *base}\n  b: {<<: *base, image: x}\n"
    data = load_yaml(doc)
    assert data["services"]["a"]["restart"] == "always" and data["services"]["b"]["image"] == "x"


def test_recursive_alias_does_not_loop() -> None:
    assert isinstance(load_yaml_safe("a: &a [*a]\n"), dict)


def test_parser_crash_is_reworded_on_one_line() -> None:
    @parser("hostile_test_kind")
    def _crash(a: Artifact) -> object:
        return [][1]

    a = Artifact(path="x.conf", kind="hostile_test_kind", text="x", digest="0")
    err = a.parse_error
    assert err is not None
    msg = str(err)
    assert "internal parser failure (IndexError at test_loading.py:" in msg and "\n" not in msg
    assert not msg.startswith("IndexError:")


def test_messages_and_problems_are_one_line() -> None:
    assert "\n" not in str(ArtifactParseError("while parsing\n  in line 3\nexpected ']'"))
    p = TargetProblem("bad\nname\x1b[31m.sh", "tar: x: Cannot open\nPermission denied")
    assert "\n" not in p.path and "\x1b" not in p.path and "\n" not in p.reason


def test_excerpt_bounded_without_cutting_a_word() -> None:
    assert bounded_excerpt("a " * 10) == "a " * 10
    long = "token=" + "A" * 10_000
    assert bounded_excerpt(long) == "(10006-character line, not shown)"
    words = "word " * 1000
    out = bounded_excerpt(words)
    assert len(out) < 450 and out.split(" … ")[0].endswith("word")


def test_dashboard_lines_located_exactly_and_linearly() -> None:
    import json

    from chom_validate.artifacts.grafana import parse_dashboard

    doc = {
        "title": "Caf\u00e9 board",
        "templating": {"list": [{"name": "job", "datasource": "prom"}]},
        "panels": [
            {"type": "graph", "title": "Caf\u00e9", "targets": [{"expr": 'up{job="a"}'}]},
            {"type": "row"},
            {"type": "graph", "title": "Caf\u00e9", "targets": [{"expr": 'up{job="a"}'}]},
        ],
    }
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    lines = text.splitlines()
    d = parse_dashboard(Artifact(path="d.json", kind="grafana_dashboard", text=text, digest="0"))
    first, second = (i + 1 for i, ln in enumerate(lines) if '"title": "Caf\u00e9"' in ln)
    assert [p.line for p in d.panels] == [first, first + 8, second]  # the row: its "type" line
    assert [q.line for p in d.panels for q in p.queries] == [
        i + 1 for i, ln in enumerate(lines) if '"expr"' in ln
    ]
    assert d.datasource_refs[0] == ("prom", next(i + 1 for i, ln in enumerate(lines) if '"name": "job"' in ln))
    # 40k panels on one line (json.dumps default): each line number used to rescan from offset 0
    big = json.dumps({"panels": [{"title": f"p{i}", "targets": [{"expr": f"m{i}"}]} for i in range(40_000)]})
    t0 = time.perf_counter()
    d = parse_dashboard(Artifact(path="b.json", kind="grafana_dashboard", text=big, digest="0"))
    assert len(d.panels) == 40_000 and time.perf_counter() - t0 < 30  # 1.5 s idle; minutes before


def test_yaml_text_probes_linear_on_deep_indents_and_blank_runs() -> None:
    from chom_validate.artifacts.discover import detect_kind, make_candidate

    deep = "groups:\n" + "".join("  " * i + "a:\n" for i in range(3000)) + "\t- alert: X\n  bad: [\n"
    blanks = "groups:\n" + "\n" * 200_000 + "  " * 50_000 + "x\n"
    t0 = time.perf_counter()
    assert detect_kind(make_candidate("rules.yml", deep)) == "prometheus_rules"
    make_candidate("nginx.conf", blanks) and detect_kind(make_candidate("nginx.conf", blanks))
    detect_kind(make_candidate("rules.yml", blanks + "[\n"))
    assert time.perf_counter() - t0 < 5


_SHELL_SHAPES = {
    # each took 28-55 s before: every command walked up its ancestors (tree-sitter finds a parent
    # by descending from the root) and listed each ancestor's children
    "deep-cmdsub": "#!/bin/bash\necho " + "$(" * 500 + "x" + ")" * 500 + "\n",
    "deep-if": "#!/bin/bash\n" + "if true; then\n" * 1000 + "echo x\n" + "fi\n" * 1000,
    "long-pipeline": "#!/bin/bash\necho x" + " | cat" * 5000 + "\n",
    "long-andor": "#!/bin/bash\ntrue" + " && true" * 3000 + " || false\n",
    "chained-functions": "".join(f'f{i}() {{ f{i + 1} "$@"; }}\n' for i in range(5000)) + "f0\n",
}


@pytest.mark.parametrize("shape", sorted(_SHELL_SHAPES))
def test_shell_parser_linear_on_deep_and_long_constructs(shape: str) -> None:
    from chom_validate.artifacts.shell import parse_shell_text

    t0 = time.perf_counter()
    script = parse_shell_text(_SHELL_SHAPES[shape], "bash")
    took = time.perf_counter() - t0
    assert script.parser == "tree-sitter" and len(script.commands) >= 500
    assert took < 8, f"{shape}: {took:.1f}s"  # 0.1-0.6 s measured (2-core machine, loaded)


def test_shell_contexts_derived_top_down() -> None:
    from chom_validate.artifacts.shell import parse_shell_text

    s = parse_shell_text(
        "#!/bin/bash\nif a | b; then c && d; fi\nf() { e & }\n! g\nx=$(h)\n( i ) &\nwhile j; do k; done\n",
        "bash",
    )
    by = {c.name: c for c in s.commands}
    assert by["a"].contexts == ("pipeline", "condition") and by["b"].contexts == ("pipeline_last", "condition")
    assert by["a"].conditional and by["c"].conditional and by["c"].guarded and not by["k"].guarded
    assert by["c"].contexts == ("andor",) and by["d"].contexts == ("andor_last",)
    assert by["e"].contexts == ("background",) and by["e"].function == "f"
    assert by["g"].contexts == ("negated",) and by["g"].conditional
    assert by["h"].contexts == ("cmdsubst",)
    assert by["i"].contexts == ("subshell", "background")
    assert by["j"].contexts == ("condition",) and by["j"].conditional
    assert by["k"].contexts == () and not by["k"].conditional


@pytest.mark.parametrize(
    "shape",
    [
        "echo a; " * 20_000 + "\n",  # the list split re-scanned the rest of the line per separator
        "echo ' " + "a; " * 20_000 + "\n",  # ... and on an unbalanced quote
        "echo \\\n" * 20_000 + "x\n",  # continuation lines joined by repeated concatenation
        "f()" + " " * 100_000 + "x\n",
    ],
    ids=["many-separators", "unbalanced-quote", "continuations", "long-blank-run"],
)
def test_line_level_shell_layer_linear(shape: str) -> None:
    from chom_validate.artifacts.shell import _parse_lines

    t0 = time.perf_counter()
    _parse_lines(shape)
    assert time.perf_counter() - t0 < 10  # 0.4-2.7 s measured; did not finish in 600 s before


def test_line_level_list_split_matches_quote_rule() -> None:
    from chom_validate.artifacts.shell import _split_list

    assert _split_list("a; b && c || d") == ["a", "b", "c", "d"]
    assert _split_list("echo 'x; y'; z") == ["echo 'x; y'", "z"]
    assert _split_list('echo "a && b" && c') == ['echo "a && b"', "c"]
    # the former look-ahead rule, as the oracle on every short line over the interesting characters
    import itertools
    import re

    old = re.compile(r"\s*(?:;|&&|\|\|)\s*(?=(?:[^'\"]|'[^']*'|\"[^\"]*\")*$)")
    for n in range(6):
        for chars in itertools.product("a ;&|'\"", repeat=n):
            line = "".join(chars)
            assert _split_list(line) == [p.strip() for p in old.split(line)], line


def test_nul_anywhere_and_utf16_reported_by_name(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from chom_validate.artifacts.discover import discover
    from chom_validate.targets.local import LocalTree

    (tmp_path / "late.sh").write_bytes(b"#!/bin/bash\nset -e\n" + b"#" * 9000 + b"\n\x00\x00x\n")
    (tmp_path / "app.service").write_bytes("[Service]\nExecStart=/bin/x\n".encode("utf-16"))
    (tmp_path / "ok.service").write_text("[Service]\nExecStart=/bin/x\n")
    index = discover(LocalTree(tmp_path))
    why = {p.path: p.reason for p in index.problems}
    assert "NUL" in why["late.sh"] and "UTF-16" in why["app.service"] and "ok.service" not in why


def test_local_read_is_bounded_and_never_opens_a_fifo(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os

    from chom_validate.targets.base import TargetError
    from chom_validate.targets.local import LocalTree

    (tmp_path / "a.conf").write_bytes(b"x" * 2048)
    tree = LocalTree(tmp_path, max_file_size=2048)
    assert len(tree.read_bytes("a.conf")) == 2048
    tree._listing()
    (tmp_path / "a.conf").write_bytes(b"x" * 4096)  # grew after the listing
    with pytest.raises(TargetError, match="cap"):
        tree.read_bytes("a.conf")
    os.remove(tmp_path / "a.conf")
    os.mkfifo(tmp_path / "a.conf")  # replaced by a FIFO after the listing: refused, not blocked on
    t0 = time.perf_counter()
    with pytest.raises(TargetError, match="not a regular file"):
        tree.read_bytes("a.conf")
    assert time.perf_counter() - t0 < 2


@pytest.mark.parametrize("kind", ["fifo", "dir", "utf16", "missing"])
def test_config_special_files_one_line_naming_the_file(tmp_path, kind: str) -> None:  # type: ignore[no-untyped-def]
    import os

    from chom_validate.config import ConfigError, load_config

    p = tmp_path / "chom-validate.yaml"
    if kind == "fifo":
        os.mkfifo(p)
    elif kind == "dir":
        p.mkdir()
    elif kind == "utf16":
        p.write_bytes("version: 1\n".encode("utf-16"))
    with pytest.raises(ConfigError) as exc:
        load_config(p)
    msg = str(exc.value)
    assert str(p) in msg and "\n" not in msg


def test_engine_gives_no_host_another_hosts_collect_paths(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Host collection comes from each host's own SSH parameters (defaults + its roles + its own
    collect.include/exclude); the engine used to add every host's `collect` to every target."""
    from chom_validate.config import Config
    from chom_validate.engine import RunOptions, TargetSpec, scan
    from chom_validate.registry import load_registry
    from chom_validate.targets.local import LocalTree

    seen: list[str] = []

    class Recording(LocalTree):
        def prepare(self, paths: list[str], commands: list[list[str]]) -> None:
            seen.extend(paths)
            super().prepare(paths, commands)

    (tmp_path / "a.service").write_text("[Service]\nExecStart=/bin/x\n")
    cfg = Config.model_validate(
        {
            "hosts": {
                "app": {"collect": {"include": ["opt/app-only"], "exclude": ["*/cache"]}},
                "db": {"collect": ["srv/db-only"]},
            }
        }
    )
    reg = load_registry([], entry_points_enabled=False)
    scan([TargetSpec("t", "local", lambda: Recording(tmp_path))], reg, cfg, RunOptions(only=["SYS001"]))
    assert not any("app-only" in p or "db-only" in p for p in seen), seen
