"""Snapshots: what a run collected from a host, saved as one tar.gz and replayed offline.

Layout of ``x.tar.gz`` (mode 0600, never extracted to disk on replay):
``manifest.json`` (format, host, kind, captured_at, tool_version, paths, commands with exit codes
and output digests, files with sha256/size/mode, problems), ``files/<path>`` and
``commands/<n>.json`` (argv, returncode, stdout, stderr, missing, timed_out). Replay verifies every
digest, so an edited snapshot is refused instead of producing a certificate for something that was
never collected.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import posixpath
import tarfile
import time
import zlib
from pathlib import Path
from typing import Any

from .. import __version__
from ..config import Config
from ..engine import TargetSpec
from .base import (
    CollectedFiles,
    CommandResult,
    FileEntry,
    Target,
    TargetError,
    TargetProblem,
    TargetStats,
    printable_path,
)

FORMAT = "chom-validate-snapshot/1"
# Replay holds the snapshot in memory: bounded well under the 500 MB a run may use. Capture never
# writes more than ~64 MB of files (the SSH collection cap) plus command outputs.
MAX_SNAPSHOT_BYTES = 160 * 1024 * 1024
MAX_MEMBER_BYTES = 64 * 1024 * 1024
MAX_MEMBERS = 200_000


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_snapshot(
    target: Target,
    out: Path,
    *,
    paths: list[str],
    commands: list[list[str]],
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Write what ``target`` collected (after ``prepare``) to ``out``; returns the manifest."""
    files: dict[str, dict[str, Any]] = {}
    members: list[tuple[str, bytes, int]] = []
    for e in target.files():
        data = target.read_bytes(e.path)
        files[e.path] = {"sha256": _sha(data), "size": len(data), "mode": e.mode}
        members.append((f"files/{e.path}", data, 0o600))
    cmd_rows = []
    for i, argv in enumerate(commands):
        r = target.run(list(argv))
        blob = json.dumps(
            {
                "argv": r.argv,
                "returncode": r.returncode,
                "stdout": r.stdout,
                "stderr": r.stderr,
                "missing": r.missing,
                "timed_out": r.timed_out,
                "duration": round(r.duration, 4),
            },
            indent=1,
        ).encode()
        cmd_rows.append(
            {
                "file": f"commands/{i}.json",
                "argv": list(argv),
                "returncode": r.returncode,
                "missing": r.missing,
                "stdout_sha256": _sha(r.stdout.encode()),
                "sha256": _sha(blob),
            }
        )
        members.append((f"commands/{i}.json", blob, 0o600))
    manifest = {
        "format": FORMAT,
        "host": target.name,
        "kind": target.kind,
        "captured_at": (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
        "tool_version": __version__,
        "paths": list(paths),
        "commands": cmd_rows,
        "files": files,
        "problems": [{"path": p.path, "reason": p.reason} for p in target.problems],
        "stats": {
            "files": target.stats.files,
            "bytes": target.stats.bytes,
            "round_trips": target.stats.round_trips,
        },
    }
    mblob = json.dumps(manifest, indent=1, sort_keys=True).encode()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # also when the file existed with wider permissions
    with os.fdopen(fd, "wb") as fh, tarfile.open(fileobj=fh, mode="w:gz") as tf:
        mtime = int(time.time())
        for name, data, mode in [("manifest.json", mblob, 0o600), *members]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            info.mtime = mtime
            tf.addfile(info, io.BytesIO(data))
    os.replace(tmp, out)
    return manifest


def read_manifest(path: Path) -> dict[str, Any]:
    return _load(path)[0]


def _load(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    if not path.is_file():
        raise TargetError(f"{path}: no such snapshot file")
    blobs: dict[str, bytes] = {}
    total = members = 0
    try:
        with tarfile.open(path, mode="r:gz") as tf:
            for m in tf:
                members += 1
                if members > MAX_MEMBERS:
                    raise TargetError(f"{path}: more than {MAX_MEMBERS} members; refused")
                name = posixpath.normpath(m.name)
                if not m.isfile() or name.startswith(("/", "..")) or m.name.startswith("/"):
                    continue  # links, devices, absolute paths, escapes: never used, never extracted
                total += m.size
                if m.size > MAX_MEMBER_BYTES or total > MAX_SNAPSHOT_BYTES:
                    raise TargetError(
                        f"{path}: snapshot expands beyond {MAX_SNAPSHOT_BYTES} bytes (member {name} is "
                        f"{m.size} bytes; a compression bomb?); refused"
                    )
                if name in blobs:
                    raise TargetError(f"{path}: member {name} appears twice; refused")
                fh = tf.extractfile(m)
                if fh is not None:
                    blobs[name] = fh.read(m.size)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise TargetError(f"{path}: not a readable snapshot (tar.gz): {' '.join(str(exc).split())}") from exc
    try:
        manifest = json.loads(blobs.pop("manifest.json"))
    except (KeyError, ValueError, RecursionError) as exc:
        raise TargetError(f"{path}: no valid manifest.json; not a chom-validate snapshot") from exc
    if not isinstance(manifest, dict):
        raise TargetError(f"{path}: manifest.json is not an object; not a chom-validate snapshot")
    if manifest.get("format") != FORMAT:
        raise TargetError(
            f"{path}: unsupported snapshot format {manifest.get('format')!r} (expected {FORMAT})"
        )
    return manifest, blobs


class SnapshotTarget(CollectedFiles):
    """Replays a snapshot: the files and the recorded command outputs, offline."""

    kind = "snapshot"
    capabilities = frozenset({"files", "commands"})

    def __init__(self, path: Path) -> None:
        t0 = time.perf_counter()
        self.path = path
        manifest, blobs = _load(path)
        try:
            self._init(path, manifest, blobs)
        except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
            raise TargetError(
                f"{path}: manifest.json is malformed ({type(exc).__name__} on {exc}); refused"
            ) from exc
        self.stats.seconds = time.perf_counter() - t0

    def _init(self, path: Path, manifest: dict[str, Any], blobs: dict[str, bytes]) -> None:
        self.manifest = manifest
        self.name = _host_name(manifest, path)
        self.stats = TargetStats()
        self.problems = [
            TargetProblem(str(p.get("path", "?")), str(p.get("reason", "")))
            for p in manifest.get("problems", [])
            if isinstance(p, dict)
        ]
        self._files: dict[str, bytes] = {}
        self._entries: dict[str, FileEntry] = {}
        for rel, meta in dict(manifest.get("files", {})).items():
            if posixpath.normpath(rel).startswith(("/", "..")) or not isinstance(meta, dict):
                raise TargetError(
                    f"{path}: manifest entry {rel!r} is not a relative path with metadata; refused"
                )
            data = blobs.get(f"files/{rel}")
            if data is None or _sha(data) != meta.get("sha256"):
                raise TargetError(f"{path}: {rel} is missing or does not match its manifest digest; refused")
            self._files[rel] = data
            self._entries[rel] = FileEntry(rel, len(data), int(meta.get("mode", 0o644)))
        self._commands: dict[tuple[str, ...], CommandResult] = {}
        for row in list(manifest.get("commands", [])):
            blob = blobs.get(str(row["file"]))
            if blob is None or _sha(blob) != row.get("sha256"):
                raise TargetError(f"{path}: {row['file']} is missing or altered; refused")
            d = json.loads(blob)
            if not isinstance(d.get("argv"), list) or not all(isinstance(a, str) for a in d["argv"]):
                raise TargetError(f"{path}: {row['file']} has no argv list; refused")
            self._commands[tuple(d["argv"])] = CommandResult(
                argv=list(d["argv"]),
                returncode=int(d["returncode"]),
                stdout=str(d["stdout"]),
                stderr=str(d["stderr"]),
                duration=float(d.get("duration", 0.0)),
                missing=bool(d["missing"]),
                timed_out=bool(d["timed_out"]),
            )
        self.stats.files = len(self._files)
        self.stats.bytes = sum(len(b) for b in self._files.values())
        stats = manifest.get("stats")
        rt = stats.get("round_trips", 0) if isinstance(stats, dict) else 0
        self.stats.extra["captured_round_trips"] = rt if isinstance(rt, int | float) else 0

    def _not_collected(self, path: str) -> str:
        return f"{self.path}: {path} is not in the snapshot"

    def run(self, argv: list[str]) -> CommandResult:
        r = self._commands.get(tuple(argv))
        if r is None:
            return CommandResult(
                argv=list(argv),
                returncode=125,
                stdout="",
                stderr=f"`{' '.join(argv)}` was not recorded in snapshot {self.path.name}",
            )
        return r

    def prepare(self, paths: list[str], commands: list[list[str]]) -> None:
        return None

    def close(self) -> None:
        return None


def _host_name(manifest: dict[str, Any], path: Path) -> str:
    host = manifest.get("host")
    if not isinstance(host, str) or not host.strip():
        return path.stem
    return printable_path(host)  # a name with newlines or escapes is shown escaped


def snapshot_target_spec(path: Path, cfg: Config) -> TargetSpec:
    """Hook used by ``cli.common.build_targets`` for ``--snapshot``; validates the file now."""
    manifest = read_manifest(path)
    return TargetSpec(name=_host_name(manifest, path), kind="snapshot", open=lambda: SnapshotTarget(path))
