"""Oracle agreement: what promtool / amtool reject, our parsers reject (and vice versa), on every fixture.

promtool comes from Debian's `prometheus` package and amtool from `prometheus-alertmanager`
(both in the `.ci/run` apt line). Fixtures: the hand-made corpus in fixtures/monitoring/oracle,
the good tree, the per-check cases and the example deployment's files; PromQL expressions are
wrapped in a one-rule file.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from chom_validate.artifacts import Artifact, ArtifactParseError

from .conftest import EXAMPLE

FIX = Path(__file__).parent / "fixtures" / "monitoring"
PROMTOOL = shutil.which("promtool")
AMTOOL = shutil.which("amtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (apt-get install prometheus)"
)
needs_amtool = pytest.mark.skipif(
    AMTOOL is None, reason="amtool not installed (apt-get install prometheus-alertmanager)"
)


def _case_files(prefix: str) -> list[tuple[str, str]]:
    out = []
    for case in yaml.safe_load((FIX / "cases.yaml").read_text()):
        for rel, content in (case.get("files") or {}).items():
            if content is not None and rel.startswith(prefix):
                out.append((f"case:{case['id']}:{rel}", content))
    return out


def _files(kind: str) -> list[tuple[str, str]]:
    if kind == "rules":
        paths = [
            *sorted((FIX / "oracle" / "rules").glob("*.yml")),
            *sorted((FIX / "good").rglob("rules/*.yml")),
        ]
        paths += sorted((EXAMPLE / "mentat" / "prometheus" / "rules").glob("*.yml"))
        extra = _case_files("prometheus/rules/") + _case_files("prometheus/alerts-old/")
    elif kind == "config":
        paths = [
            *sorted((FIX / "oracle" / "config").glob("*.yml")),
            FIX / "good" / "prometheus" / "prometheus.yml",
        ]
        paths += [EXAMPLE / "mentat" / "prometheus" / "prometheus.yml"]
        extra = _case_files("prometheus/prometheus.yml")
    else:
        paths = [
            *sorted((FIX / "oracle" / "alertmanager").glob("*.yml")),
            FIX / "good" / "alertmanager" / "alertmanager.yml",
        ]
        paths += [EXAMPLE / "mentat" / "alertmanager" / "alertmanager.yml"]
        extra = _case_files("alertmanager/")
    return [(str(p.relative_to(FIX.parent.parent.parent)), p.read_text()) for p in paths] + extra


def _ours(kind: str, text: str) -> tuple[bool, str]:
    art = Artifact(path="x.yml", kind=kind, text=text, digest="")
    try:
        model = art.parsed
    except ArtifactParseError as exc:
        return False, str(exc)
    problems = getattr(model, "problems", [])
    return not problems, "; ".join(f"{p.line}: {p.message}" for p in problems)


def _oracle(argv: list[str], text: str, tmp: Path) -> tuple[bool, str]:
    f = tmp / "subject.yml"
    f.write_text(text)
    r = subprocess.run([*argv, str(f)], capture_output=True, text=True, timeout=60, cwd=tmp)
    return r.returncode == 0, (r.stdout + r.stderr).strip()[-300:]


RULES = _files("rules")
CONFIGS = _files("config")
AMS = _files("alertmanager")


@needs_promtool
@pytest.mark.parametrize(("name", "text"), RULES, ids=[n for n, _ in RULES])
def test_rules_agree_with_promtool(name: str, text: str, tmp_path: Path) -> None:
    theirs, out = _oracle([PROMTOOL or "promtool", "check", "rules"], text, tmp_path)
    ours, why = _ours("prometheus_rules", text)
    assert ours == theirs, (
        f"{name}: promtool {'accepts' if theirs else 'rejects'} ({out}); we say {ours} ({why})"
    )


@needs_promtool
@pytest.mark.parametrize(("name", "text"), CONFIGS, ids=[n for n, _ in CONFIGS])
def test_config_agrees_with_promtool(name: str, text: str, tmp_path: Path) -> None:
    theirs, out = _oracle([PROMTOOL or "promtool", "check", "config", "--syntax-only"], text, tmp_path)
    ours, why = _ours("prometheus_config", text)
    assert ours == theirs, (
        f"{name}: promtool {'accepts' if theirs else 'rejects'} ({out}); we say {ours} ({why})"
    )


@needs_amtool
@pytest.mark.parametrize(("name", "text"), AMS, ids=[n for n, _ in AMS])
def test_alertmanager_agrees_with_amtool(name: str, text: str, tmp_path: Path) -> None:
    theirs, out = _oracle([AMTOOL or "amtool", "check-config"], text, tmp_path)
    ours, why = _ours("alertmanager_config", text)
    assert ours == theirs, (
        f"{name}: amtool {'accepts' if theirs else 'rejects'} ({out}); we say {ours} ({why})"
    )


def _promql_corpus() -> list[str]:
    lines = (FIX / "oracle" / "promql.tsv").read_text().splitlines()
    return [ln.split("\t", 1)[1] for ln in lines if ln.strip() and not ln.startswith("#")]


@needs_promtool
def test_promql_corpus_agrees_with_promtool(tmp_path: Path) -> None:
    """All expressions in one run: each becomes its own group so one error does not hide another."""
    from chom_validate.artifacts import promql

    disagreements = []
    for i, expr in enumerate(_promql_corpus()):
        text = f"groups:\n  - name: g{i}\n    rules:\n      - record: r\n        expr: {json.dumps(expr)}\n"
        theirs, out = _oracle([PROMTOOL or "promtool", "check", "rules"], text, tmp_path)
        try:
            promql.parse(expr)
            ours = True
        except promql.PromQLError:
            ours = False
        if ours != theirs:
            disagreements.append(f"{expr!r}: promtool {theirs} ({out[-120:]}), ours {ours}")
    assert not disagreements, "\n".join(disagreements)


def _corpus_rule_files() -> list[Path]:
    """Rule files of the shared real-world corpus (../shared/corpus), recognised as our scanner does."""
    from chom_validate.artifacts.discover import detect_kind, make_candidate

    root = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
    if not root.is_dir():
        return []
    out = []
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.suffix not in (".yml", ".yaml", ".rules", ""):
            continue
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if (
            "groups" in text
            and detect_kind(make_candidate(str(p.relative_to(root)), text)) == "prometheus_rules"
        ):
            out.append(p)
    return out


CORPUS_RULES = _corpus_rule_files()


@needs_promtool
@pytest.mark.skipif(
    not CORPUS_RULES, reason="../shared/corpus is absent (CI clones it beside the repository)"
)
def test_corpus_rule_files_agree_with_promtool(tmp_path: Path) -> None:
    """Every rule file of real repositories: our verdict (file and each expression) is promtool's."""
    disagreements = []
    for p in CORPUS_RULES:
        text = p.read_text(encoding="utf-8")
        theirs, out = _oracle([PROMTOOL or "promtool", "check", "rules"], text, tmp_path)
        ours, why = _ours("prometheus_rules", text)
        if ours != theirs:
            disagreements.append(f"{p}: promtool {theirs} ({out[-160:]}); ours {ours} ({why[:160]})")
    assert len(CORPUS_RULES) >= 10
    assert not disagreements, "\n".join(disagreements)
