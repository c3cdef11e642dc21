"""LocalTree: a checkout or an extracted snapshot, confined to its root, never written to."""

from __future__ import annotations

import fnmatch
import os
import stat as statmod
import time
from collections.abc import Iterator
from pathlib import Path

from .base import (
    DEFAULT_MAX_FILE_SIZE,
    CommandResult,
    FileEntry,
    TargetError,
    TargetProblem,
    TargetStats,
)

DEFAULT_EXCLUDES = (
    ".git",
    ".hg",
    ".svn",
    "node_modules",
    ".venv",
    "venv",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".tox",
    "vendor",
)


class LocalTree:
    """Files under ``root``. Symlinks leaving the root are refused and reported, never followed."""

    kind = "local"
    capabilities = frozenset({"files"})

    def __init__(
        self,
        root: str | Path,
        *,
        name: str | None = None,
        max_file_size: int = DEFAULT_MAX_FILE_SIZE,
        excludes: tuple[str, ...] = DEFAULT_EXCLUDES,
    ) -> None:
        p = Path(root)
        if not p.exists():
            raise TargetError(f"{root}: no such file or directory")
        if not p.is_dir():
            raise TargetError(f"{root}: not a directory (give the root of a checkout or host tree)")
        if not os.access(p, os.R_OK | os.X_OK):
            raise TargetError(f"{root}: permission denied")
        self.root = p.resolve()
        self.name = name or str(root)
        self.max_file_size = max_file_size
        self.excludes = excludes
        self.problems: list[TargetProblem] = []
        self.stats = TargetStats()
        self._entries: dict[str, FileEntry] | None = None

    # -- listing ----------------------------------------------------------------------------------
    def _scan(self) -> dict[str, FileEntry]:
        t0 = time.perf_counter()
        entries: dict[str, FileEntry] = {}
        stack = [self.root]
        root_str = str(self.root)
        while stack:
            d = stack.pop()
            try:
                it = sorted(os.scandir(d), key=lambda e: e.name)
            except OSError as exc:
                self.problems.append(
                    TargetProblem(self._rel(Path(d)), f"cannot list directory: {exc.strerror}")
                )
                continue
            for e in it:
                rel = self._rel(Path(e.path))
                if not e.name.isprintable():
                    # A newline, ESC or other control character in a name would break every one-line
                    # message and could drive the terminal; real deployment files never need one.
                    self.problems.append(
                        TargetProblem(
                            rel, "name contains control characters (newline, escape...); not analysed"
                        )
                    )
                    continue
                try:
                    if e.is_symlink():
                        real = os.path.realpath(e.path)
                        if not (real == root_str or real.startswith(root_str + os.sep)):
                            self.problems.append(
                                TargetProblem(
                                    rel,
                                    f"symlink leaves the scanned tree (-> {os.readlink(e.path)}); refused",
                                )
                            )
                            continue
                        if os.path.isdir(real):
                            continue  # in-tree directory links would double-count; the real dir is scanned
                        if not os.path.lexists(real):
                            self.problems.append(
                                TargetProblem(
                                    rel, f"dangling symlink (-> {os.readlink(e.path)}); nothing to read"
                                )
                            )
                            continue
                        st = os.stat(real)
                    elif e.is_dir(follow_symlinks=False):
                        if e.name not in self.excludes:
                            stack.append(Path(e.path))
                        continue
                    else:
                        st = e.stat(follow_symlinks=False)
                except OSError as exc:
                    self.problems.append(TargetProblem(rel, f"cannot stat: {exc.strerror}"))
                    continue
                if not statmod.S_ISREG(st.st_mode):
                    continue  # sockets, fifos, devices: never opened
                if st.st_size > self.max_file_size:
                    self.problems.append(
                        TargetProblem(
                            rel,
                            f"file is {st.st_size} bytes, above the {self.max_file_size} byte cap; not read",
                        )
                    )
                    continue
                entries[rel] = FileEntry(rel, st.st_size, statmod.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
        self.stats.files = len(entries)
        self.stats.seconds += time.perf_counter() - t0
        return entries

    def _rel(self, p: Path) -> str:
        return p.relative_to(self.root).as_posix() if p != self.root else "."

    def _listing(self) -> dict[str, FileEntry]:
        if self._entries is None:
            self._entries = self._scan()
        return self._entries

    def files(self) -> Iterator[FileEntry]:
        yield from self._listing().values()

    # -- reading ----------------------------------------------------------------------------------
    def _resolve(self, path: str) -> Path:
        rel = path.lstrip("/")
        full = (self.root / rel).resolve()
        if full != self.root and self.root not in full.parents:
            raise TargetError(f"{path}: outside the scanned tree; refused")
        return full

    def read_bytes(self, path: str) -> bytes:
        full = self._resolve(path)
        cap = self.max_file_size
        # O_NONBLOCK: a FIFO that replaced the listed file must not block the open; the type is
        # checked on the open descriptor (no race with the listing), and at most cap + 1 bytes
        # are read, so a file that grew past the cap since it was listed is refused, not slurped.
        fd = os.open(full, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
        try:
            st = os.fstat(fd)
            if not statmod.S_ISREG(st.st_mode):
                raise TargetError(f"{path}: not a regular file; not read")
            if st.st_size > cap:
                raise TargetError(f"{path}: {st.st_size} bytes, above the {cap} byte cap")
            chunks, got = [], 0
            while got <= cap:
                chunk = os.read(fd, min(cap + 1 - got, 1 << 20))
                if not chunk:
                    break
                chunks.append(chunk)
                got += len(chunk)
        finally:
            os.close(fd)
        if got > cap:
            raise TargetError(f"{path}: grew above the {cap} byte cap while being read")
        data = b"".join(chunks)
        self.stats.bytes += len(data)
        return data

    def read_text(self, path: str) -> str:
        return self.read_bytes(path).decode("utf-8")

    def exists(self, path: str) -> bool:
        try:
            return self._resolve(path).exists()
        except TargetError:
            return False

    def stat(self, path: str) -> FileEntry | None:
        return self._listing().get(path.lstrip("/"))

    def glob(self, pattern: str) -> list[str]:
        pat = pattern.lstrip("/")
        return sorted(p for p in self._listing() if fnmatch.fnmatchcase(p, pat))

    def run(self, argv: list[str]) -> CommandResult:
        return CommandResult(
            argv=list(argv), returncode=127, stdout="", stderr="no live commands on a file tree", missing=True
        )

    def prepare(self, paths: list[str], commands: list[list[str]]) -> None:
        self._listing()

    def close(self) -> None:
        return None
