"""Secret checks on the real-world corpus: quiet on careful code, finding the audited defects.

Reads `../shared/corpus` beside the repository (never copied into it); skips when it is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chom_validate.findings import Severity, Status

from .conftest import scan_tree

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus"
SEC = ["SEC001", "SEC002", "SEC003", "SEC004", "SEC005", "SEC006", "SEC007", "SEC008"]

pytestmark = pytest.mark.skipif(
    not CORPUS.is_dir(), reason="../shared/corpus is not present beside the repository"
)


def _fails(tree: Path) -> list[tuple[str, int | None, Severity, str]]:
    rep = scan_tree(tree, only=SEC)
    return [
        (e.path or "", e.line, f.effective_severity, f.check_id)
        for f in rep.findings
        if f.status == Status.FAIL
        for e in f.evidence[:1]
    ]


@pytest.mark.parametrize(
    "repo", ["docker+docker-install", "monitoring-mixins+website", "prometheus+alertmanager", "rancher+rke2"]
)
def test_careful_repositories_raise_only_known_placeholders(repo: str) -> None:
    tree = CORPUS / "clean" / repo / "tree"
    if not tree.is_dir():
        pytest.skip(f"{tree} missing")
    fails = _fails(tree)
    assert all(sev == Severity.LOW for _, _, sev, _ in fails), fails
    # the one known secrets defect of the careful trees: alertmanager's example config placeholders
    assert {p for p, _, _, _ in fails} <= {"doc/examples/simple.yml"}, fails


@pytest.mark.parametrize(
    ("tree", "path", "lines"),
    [
        ("stefanprodan+dockprom", "docker-compose.yml", range(96, 133)),  # admin/admin defaults (DKP-01)
        ("mailcow+mailcow-dockerized", "helper-scripts/backup_and_restore.sh", (160, 186, 192)),  # MCW-06
        ("angristan+openvpn-install", "openvpn-install.sh", range(1088, 1247)),  # --password VALUE (OVI-20)
    ],
)
def test_audited_secrets_defects_are_found(tree: str, path: str, lines: range | tuple[int, ...]) -> None:
    root = CORPUS / tree / "tree"
    if not root.is_dir():
        pytest.skip(f"{root} missing")
    hits = [(p, ln) for p, ln, _, _ in _fails(root) if p == path and ln in lines]
    assert hits, f"no SEC failure in {path} at {lines}"
