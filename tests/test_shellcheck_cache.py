"""DEP020's content-addressed ShellCheck cache: same findings cold, warm and disabled; safe on disk.

The cache lives under a temporary XDG_CACHE_HOME here (autouse fixture); conftest.py keeps it off
for the rest of the suite.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from chom_validate.results import RunReport
from chom_validate.shellcheck import Cache as _Cache
from chom_validate.shellcheck import environment_key as _environment_key
from chom_validate.shellcheck import find_shellcheck

from .conftest import EXAMPLE, scan_tree

pytestmark = pytest.mark.skipif(find_shellcheck() is None, reason="shellcheck not installed")

CONFIG = EXAMPLE / "chom-validate.yaml"


@pytest.fixture(autouse=True)
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    monkeypatch.delenv("CHOM_VALIDATE_NO_CACHE", raising=False)
    return home


def _entries(home: Path) -> list[Path]:
    return sorted((home / "chom-validate" / "shellcheck").glob("*/*.json"))


def _dump(report: RunReport) -> str:
    return json.dumps([f.model_dump(mode="json") for f in report.findings], sort_keys=True)


def _scan(root: Path = EXAMPLE, **extra: Any) -> str:
    config = CONFIG if root == EXAMPLE else None
    return _dump(scan_tree(root, config, only=["DEP020"], **extra))


def _cache_like(root: Path) -> set[str]:
    """Files in a tree that look like cache entries or their temp files (other engineers may be
    editing the example tree concurrently, so only these are compared)."""
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if re.fullmatch(r"[0-9a-f]{64}\.json|\.tmp-.*", p.name) or p.name == "chom-validate"
    }


def test_cold_warm_and_disabled_give_identical_findings(
    cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _cache_like(EXAMPLE)
    cold = _scan()
    entries = _entries(cache_home)
    assert entries, "a cold run fills the cache"
    mtimes = {p: p.stat().st_mtime_ns for p in entries}
    calls: list[object] = []
    real_popen = subprocess.Popen

    class CountingPopen(real_popen):  # type: ignore[misc,valid-type]
        """Every process started: through subprocess.run (one script) or directly (batches)."""

        def __init__(self, argv: list[str], *args: Any, **kwargs: Any) -> None:
            if "json1" in argv:  # a shellcheck analysis (the registry reloads the check module per scan)
                calls.append(argv)
            super().__init__(argv, *args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", CountingPopen)
    warm = _scan()
    assert calls == [], "a warm run does not run shellcheck on any script"
    assert {p: p.stat().st_mtime_ns for p in _entries(cache_home)} == mtimes
    monkeypatch.setenv("CHOM_VALIDATE_NO_CACHE", "1")
    disabled = _scan()
    assert calls, "with the cache disabled shellcheck runs again"
    monkeypatch.delenv("CHOM_VALIDATE_NO_CACHE")
    calls.clear()
    no_cache_option = _scan(no_cache=True)  # `all --no-cache`
    assert calls
    assert cold == warm == disabled == no_cache_option
    assert '"status": "fail"' in cold
    assert _cache_like(EXAMPLE) == before == set(), "nothing is written into the scanned tree"


def test_corrupt_entry_is_ignored_and_rewritten(cache_home: Path) -> None:
    cold = _scan()
    entries = _entries(cache_home)
    garbage = [b"", b"{not json", b'{"format": 1, "key": "other", "comments": []}', b"\xff\xfe"]
    for path, junk in zip(entries, garbage * len(entries), strict=False):
        path.write_bytes(junk)
    assert _scan() == cold
    for path in entries:  # recomputed entries are valid again
        data = json.loads(path.read_text())
        assert data["key"] == path.stem and isinstance(data["comments"], list)


def test_key_follows_text_dialect_and_rc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exe = find_shellcheck()
    assert exe
    env = _environment_key(exe)
    assert env is not None and "version" in env
    cache = _Cache(tmp_path, env)
    text = "#!/bin/bash\ncd $1\n"
    key = cache.key(exe, text, "bash")
    assert key == _Cache(tmp_path, _environment_key(exe)).key(exe, text, "bash")
    assert key != cache.key(exe, text + "echo\n", "bash")
    assert key != cache.key(exe, text, "sh")
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    (work / ".shellcheckrc").write_text("disable=SC2164\n")
    assert _Cache(tmp_path, _environment_key(exe)).key(exe, text, "bash") != key
    monkeypatch.setenv("SHELLCHECK_OPTS", "-e SC2086")
    assert _environment_key(exe) != env
    monkeypatch.setenv("SHELLCHECK_OPTS", "-x")  # follows sourced files: not content-addressable
    assert _environment_key(exe) is None


def test_script_change_misses_and_rc_in_cwd_applies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    script = tree / "deploy.sh"
    script.write_text("#!/bin/bash\ncd $1\n")
    first = _scan(tree)
    assert "SC2164" in first
    script.write_text('#!/bin/bash\nset -euo pipefail\ncd "$1" || exit 1\n')
    assert "SC2164" not in _scan(tree), "a changed script is not answered from the cache"
    script.write_text("#!/bin/bash\ncd $1\n")
    assert _scan(tree) == first
    work = tmp_path / "cwd"
    work.mkdir()
    (work / ".shellcheckrc").write_text("disable=SC2164\n")
    monkeypatch.chdir(work)
    assert "SC2164" not in _scan(tree), "an rc file that applies changes the key"
    assert _cache_like(tree) == set()


def test_read_only_cache_dir_silently_disables(cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if os.geteuid() == 0:  # root ignores directory permissions: fail the writes as a read-only fs would

        def read_only(*_a: Any, **_k: Any) -> Any:
            raise OSError(30, "Read-only file system")

        monkeypatch.setattr(tempfile, "mkstemp", read_only)
    cache_home.mkdir()
    cache_home.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        assert _scan() == _scan(no_cache=True)
        assert _entries(cache_home) == []
    finally:
        cache_home.chmod(stat.S_IRWXU)


def test_unwritable_cache_path_silently_disables(cache_home: Path) -> None:
    cache_home.mkdir()
    (cache_home / "chom-validate").write_text("a file where the cache directory should be")
    assert _scan() == _scan(no_cache=True)


def test_cache_inside_scanned_tree_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = tmp_path / "home"
    tree.mkdir()
    (tree / "deploy.sh").write_text("#!/bin/bash\ncd $1\n")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tree / ".cache"))  # e.g. `all --path ~`
    assert "SC2164" in _scan(tree)
    assert sorted(p.name for p in tree.rglob("*")) == ["deploy.sh"]


def test_key_follows_the_option_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The argv (here: dataflow analysis on or off) is part of every key: no entry made with one option
    set answers a run with the other."""
    from chom_validate import shellcheck as runner

    exe = find_shellcheck()
    assert exe
    cache = _Cache(tmp_path, _environment_key(exe))
    text = "#!/bin/bash\nx=1\necho $x\n"
    off = cache.key(exe, text, "bash")
    monkeypatch.setattr(runner, "EXTENDED_ANALYSIS", True)
    on = cache.key(exe, text, "bash")
    if (runner._version_tuple(exe) or (0, 0)) >= (0, 10):
        assert on != off
    else:
        assert on == off  # 0.9: no such option, the same run
