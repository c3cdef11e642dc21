"""Scope (tests, vendored code, samples out by default; --include/--exclude globs), the deployment
verdict behind repository-wide absences, and which documents the reference checks judge."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from chom_validate.artifacts.scope import Scope, default_reason, glob_matches
from chom_validate.artifacts.yamlfile import YamlDocuments, load_yaml
from chom_validate.cli import load_app
from chom_validate.config import Config, HostConfig
from chom_validate.findings import Status

from .conftest import findings, scan_tree
from .conftest import write_tree as _tree


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("tests/fixtures/bad.yml", "test fixture"),
        ("pkg/notify/notify_test.go", "test fixture"),
        ("app/.env.testing", "test fixture"),
        ("vendor/github.com/x/y.sh", "vendored or third-party code"),
        ("ui/node_modules/a/b.json", "vendored or third-party code"),
        ("ui/package-lock.json", "lockfile"),
        ("go.sum", "lockfile"),
        ("doc/examples/simple.yml", "example or sample code"),
        ("deploy/install.sh", None),
        ("docs/runbooks/db.md", None),
        ("testing.md", None),  # a file name, not a test directory
        ("contest/deploy.sh", None),
    ],
)
def test_default_scope(path: str, reason: str | None) -> None:
    assert default_reason(path) == reason


def test_globs_match_at_the_root_and_below() -> None:
    assert glob_matches("**/*.md", "README.md") and glob_matches("**/*.md", "a/b/c.md")
    assert glob_matches("*.md", "docs/x.md")  # no slash: any depth, like gitignore
    assert glob_matches("vendor", "a/vendor/b.go")  # a directory covers what is below
    assert not glob_matches("docs/*.md", "docs/a/b.md")
    assert glob_matches("docs/**", "docs/a/b.md")
    s = Scope.of(include=["tests/smoke/**"], exclude=["deploy/old/**"])
    assert not s.skips("tests/smoke/check.sh") and s.skips("tests/unit/x.sh")
    assert s.skips("deploy/old/install.sh") and not s.skips("deploy/install.sh")


UNIT = "[Unit]\nDescription=x\n\n[Service]\nExecStart=/usr/bin/x\nRestart=no\n"


def test_scope_notice_and_include(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {"deploy/x.service": UNIT, "tests/fixtures/y.service": UNIT, "examples/z.service": UNIT},
    )
    r = scan_tree(root, only=["SYS001"])
    assert {e.path for f in findings(r, "SYS001", Status.FAIL) for e in f.evidence} == {"deploy/x.service"}
    assert any(n.startswith("skipped by scope: 2 files") for n in r.notices), r.notices
    out = tmp_path / "r.json"
    res = CliRunner().invoke(
        load_app(),
        [
            "all",
            "--path",
            str(root),
            "--check",
            "SYS001",
            "--include",
            "tests/**",
            "--format",
            "json",
            "-o",
            str(out),
        ],
    )
    assert res.exit_code in (0, 1), res.output
    assert "tests/fixtures/y.service" in out.read_text()
    assert "examples/z.service" not in out.read_text()


def test_scanning_an_example_directory_as_root_keeps_it_in_scope(tmp_path: Path) -> None:
    root = _tree(tmp_path / "examples" / "deployment", {"x.service": UNIT})
    r = scan_tree(root, only=["SYS001"])
    assert findings(r, "SYS001", Status.FAIL)
    assert not r.notices


def test_multi_document_yaml_parses() -> None:
    data = load_yaml("kind: Service\n---\nkind: Deployment\n")
    assert isinstance(data, YamlDocuments) and [d["kind"] for d in data] == ["Service", "Deployment"]


# -- deployments and the absences that only they owe ---------------------------------------------

ABSENCE = ["DR001", "IR003", "IR004"]


def test_installer_owes_no_dr_plan(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "install.sh": "#!/bin/sh\nset -e\napt-get install -y docker-ce\nsystemctl enable docker\n",
            "README.md": "# Install\n",
        },
    )
    r = scan_tree(root, only=ABSENCE, profile="hardened")
    for cid in ABSENCE:
        got = findings(r, cid)
        assert got and all(f.status == Status.NOT_APPLICABLE for f in got), cid
        assert "not a deployment" in got[0].message
    r = scan_tree(root, only=ABSENCE, profile="certified")
    assert all(findings(r, cid, Status.FAIL) for cid in ABSENCE)


def test_deployment_by_config_owes_a_dr_plan(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"README.md": "# Ops\n", "deploy.sh": "#!/bin/sh\nset -e\necho hi\n"})
    cfg = Config(hosts={"db1": HostConfig(roles=["db"])})
    r = scan_tree(root, cfg, only=ABSENCE, profile="hardened")
    assert all(findings(r, cid, Status.FAIL) for cid in ABSENCE)


def test_inferred_deployment(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "README.md": "# Ops\n",
            "app.service": UNIT,
            "setup.sh": "#!/bin/sh\nset -e\nsystemctl enable app\nufw allow 443/tcp\n",
            "nginx/site.conf": "server {\n  listen 443;\n  location / { proxy_pass http://127.0.0.1:8080; }\n}\n",
        },
    )
    r = scan_tree(root, only=["DR001"], profile="hardened")
    f = findings(r, "DR001", Status.FAIL)
    assert f and "inferred" in f[0].message


# -- which documents the reference checks judge ------------------------------------------------------


def test_references_only_in_procedures_and_commands(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "docs/PROPOSAL.md": "# Proposal\n\nWe could add `scripts/new-thing.sh` later.\n",
            "docs/runbooks/db-down.md": "# DB down\n\n## Resolution\n\n```bash\n"
            "OUT=scripts/generated.sh\n./scripts/restore-db.sh\n"
            "cat > scripts/helper.sh <<'X'\nX\nbash scripts/helper.sh\n$OUT\n"
            "cd ../other && ./tools/run.sh\n```\n\nConfig is in `config/app.yml`.\n",
        },
    )
    r = scan_tree(root, only=["DR005"], profile="hardened")
    refs = {f.subject for f in findings(r, "DR005", Status.FAIL)}
    assert refs == {"./scripts/restore-db.sh", "scripts/generated.sh"}, refs
