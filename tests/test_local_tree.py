"""LocalTree: root confinement, size cap, binary and non-UTF-8 files are reported, never crash."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chom_validate.findings import Status
from chom_validate.targets.base import TargetError
from chom_validate.targets.local import LocalTree

from .conftest import findings, scan_tree


def test_symlink_out_of_tree_is_refused_and_reported(tmp_path: Path) -> None:
    (tmp_path / "deploy").mkdir()
    os.symlink("/etc/passwd", tmp_path / "deploy" / "passwd")
    os.symlink("../outside", tmp_path / "deploy" / "up")
    (tmp_path / "deploy" / "ok.sh").write_text("#!/bin/bash\nset -euo pipefail\n")
    os.symlink("ok.sh", tmp_path / "deploy" / "alias.sh")  # in-tree link: fine
    rep = scan_tree(tmp_path)
    errs = findings(rep, "TGT001", Status.ERROR)
    msgs = " | ".join(f.message for f in errs)
    assert "deploy/passwd" in msgs and "/etc/passwd" in msgs and "refused" in msgs
    assert "deploy/up" in msgs
    assert "alias.sh" not in msgs
    # never followed: no artifact or content from /etc/passwd
    assert all("root:x:0:0" not in (e.excerpt or "") for f in rep.findings for e in f.evidence)
    tree = LocalTree(tmp_path)
    with pytest.raises(TargetError):
        tree.read_bytes("deploy/passwd")
    with pytest.raises(TargetError):
        tree.read_bytes("../../etc/passwd")


def test_size_cap_binary_and_non_utf8(tmp_path: Path) -> None:
    (tmp_path / "huge.yml").write_text("a: 1\n" * 400_000)  # ~2.4 MB
    (tmp_path / "blob.sh").write_bytes(b"#!/bin/bash\n\x00\x01\x02")
    (tmp_path / "latin1.sh").write_bytes("#!/bin/bash\necho caf\xe9\n".encode("latin-1"))
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    from chom_validate.config import Config

    rep = scan_tree(tmp_path, Config(max_file_size=1024 * 1024))
    msgs = {f.subject: f.message for f in findings(rep, "TGT001", Status.ERROR)}
    assert "above the 1048576 byte cap" in msgs["huge.yml"]
    assert "binary" in msgs["blob.sh"]
    assert "not UTF-8" in msgs["latin1.sh"]
    assert "logo.png" not in msgs  # binary by extension: skipped quietly, counted
    assert rep.targets[0].stats["skipped_files"] == 1


def test_missing_root_is_a_target_error(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="no such file"):
        LocalTree(tmp_path / "nope")
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(TargetError, match="not a directory"):
        LocalTree(f)


def test_never_writes_to_the_tree(tmp_path: Path) -> None:
    (tmp_path / "a.sh").write_text("#!/bin/bash\necho hi\n")
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    scan_tree(tmp_path)
    after = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    assert before == after
