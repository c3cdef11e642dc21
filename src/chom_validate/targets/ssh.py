"""SshHost: a remote host read over SSH (paramiko), read-only, in a constant number of round trips.

Collection design (why one archive stream and not SFTP): the engine tells ``prepare()`` every path
and command the enabled checks need. Files are fetched with ONE allow-listed
``tar -czf - --ignore-failed-read -C / -- /prefix/etc/systemd/system ...`` stream: one exec
channel, compressed, whatever the number of files or directories. SFTP needs a request per
directory listed and an open/read/close per file (paramiko only pipelines the reads), so its round
trips grow with the tree. Globs (``usr/local/bin/*.sh``) cannot go through tar without a remote
shell expanding them, which we never build from config values; their parent directories are
listed over SFTP in the same wave and the matches fetched by a second tar. Allow-listed commands
run concurrently on separate channels of the same connection (bounded by ``max_channels``; sshd's
default MaxSessions is 10), so round trips = 1 (+1 with globs) + ceil(commands / max_channels),
independent of how many checks asked for them. ``TCP_NODELAY`` is set: without it every small
request pays ~40 ms of Nagle delay on loopback.
"""

from __future__ import annotations

import contextlib
import getpass
import io
import logging
import os
import posixpath
import select
import shlex
import socket
import stat as statmod
import sys
import tarfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

import paramiko

from .base import (
    DEFAULT_MAX_FILE_SIZE,
    CollectedFiles,
    CommandNotAllowed,
    CommandResult,
    FileEntry,
    TargetError,
    TargetProblem,
    TargetStats,
    is_allowed,
)

DEFAULT_COLLECT = (
    "etc/systemd/system",
    "etc/systemd/journald.conf",
    "etc/systemd/journald.conf.d",
    "etc/ufw",
    "etc/nginx",
    "etc/prometheus",
    "etc/alertmanager",
    "etc/grafana",
    "etc/loki",
    "etc/cron.d",
    "etc/letsencrypt/renewal",
    "var/spool/cron/crontabs",
    "usr/local/bin/*.sh",
)
# Heavy or irrelevant trees never worth streaming from /opt and friends.
DEFAULT_EXCLUDES = (
    "*/.git",
    "*/node_modules",
    "*/vendor",
    "*/storage/logs",
    "*/storage/framework",
    "*/__pycache__",
    "*.log",
    "*.gz",
    "*.zip",
    "*.sql",
    "*.tar",
)
DEFAULT_MAX_TOTAL_BYTES = 64 * 1024 * 1024
_PASSPHRASE_LOCK = threading.Lock()
# paramiko logs its transport thread's exceptions (banner errors, resets) as ERROR with a traceback;
# with no handler configured Python prints them to stderr. Every failure is already reported as
# one TargetError line per host, so paramiko's own log stays quiet.
logging.getLogger("paramiko").addHandler(logging.NullHandler())
logging.getLogger("paramiko").propagate = False


@dataclass
class SshParams:
    """Everything needed to reach one host; resolved by ``inventory.py``."""

    name: str
    hostname: str
    port: int = 22
    user: str | None = None
    identity_files: list[str] = field(default_factory=list)
    path_prefix: str = "/"
    roles: list[str] = field(default_factory=list)
    known_hosts: Path | None = None
    accept_new_host_keys: bool = False
    sudo: bool = False
    connect_timeout: float = 10.0
    command_timeout: float = 30.0
    proxy_jump: SshParams | None = None
    use_agent: bool = True
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES
    max_channels: int = 8
    collect: tuple[str, ...] = DEFAULT_COLLECT
    excludes: tuple[str, ...] = DEFAULT_EXCLUDES

    @property
    def label(self) -> str:
        return f"{self.user or getpass.getuser()}@{self.hostname}:{self.port}"

    @property
    def where(self) -> str:
        """How every error about this host starts: its name, address and port."""
        return f"{self.name} ({self.hostname}:{self.port})"


def _probe_not_ssh(p: SshParams) -> str:
    """Why a handshake failed when the port is not an SSH server: one short, separate probe."""
    try:
        with socket.create_connection((p.hostname, p.port), timeout=min(p.connect_timeout, 3.0)) as s:
            s.settimeout(min(p.connect_timeout, 1.5))
            with contextlib.suppress(OSError):
                s.sendall(b"SSH-2.0-chom-validate-probe\r\n")
            try:
                data = s.recv(200)
            except TimeoutError:
                return f"the port accepts connections but sends no SSH banner (nothing within {min(p.connect_timeout, 1.5):g}s)"
            except OSError as exc:
                return (
                    "the port accepts connections and closes them without an SSH banner "
                    f"({exc.strerror or exc}; not an SSH server?)"
                )
    except OSError:
        return "no SSH banner"
    if not data:
        return "the port accepts connections and closes them without an SSH banner (not an SSH server?)"
    if data.startswith(b"SSH-"):
        return "the SSH server closed the connection during the handshake"
    if data.startswith(b"HTTP/") or b"<html" in data.lower():
        return "the port answers HTTP, not SSH (wrong port?)"
    first = data.split(b"\n", 1)[0][:60].decode("ascii", "replace")
    return f"the port does not speak SSH (it answered {first!r})"


def default_known_hosts() -> Path:
    return Path.home() / ".ssh" / "known_hosts"


def _fingerprint(key: paramiko.PKey) -> str:
    return f"{key.get_name()} {key.fingerprint}"


def _known_name(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


def connect_transport(
    p: SshParams, sock: socket.socket | paramiko.Channel | None = None
) -> paramiko.Transport:
    """Connect, verify the host key against known_hosts, authenticate. Raises TargetError."""
    jump: paramiko.Transport | None = None
    where = p.where
    try:
        if sock is None and p.proxy_jump is not None:
            jump = connect_transport(p.proxy_jump)
            try:
                sock = jump.open_channel(
                    "direct-tcpip", (p.hostname, p.port), ("127.0.0.1", 0), timeout=p.connect_timeout
                )
            except (paramiko.SSHException, OSError) as exc:
                raise TargetError(f"{where}: ProxyJump {p.proxy_jump.name} cannot reach it: {exc}") from exc
        if sock is None:
            sock = socket.create_connection((p.hostname, p.port), timeout=p.connect_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except ConnectionRefusedError as exc:
        raise TargetError(
            f"{where}: connection refused (is sshd running and listening on that port?)"
        ) from exc
    except TimeoutError as exc:
        raise TargetError(f"{where}: connection timed out after {p.connect_timeout:g}s") from exc
    except socket.gaierror as exc:
        raise TargetError(f"{where}: cannot resolve host name: {exc.strerror}") from exc
    except OSError as exc:
        raise TargetError(f"{where}: cannot connect: {exc.strerror or exc}") from exc

    kh_path = p.known_hosts or default_known_hosts()
    known = paramiko.HostKeys()
    if kh_path.is_file():
        try:
            known.load(str(kh_path))
        except (OSError, paramiko.SSHException) as exc:
            raise TargetError(f"{where}: cannot read known_hosts {kh_path}: {exc}") from exc
    kh_name = _known_name(p.hostname, p.port)
    entries = known.lookup(kh_name)
    t = paramiko.Transport(sock)
    try:
        t.banner_timeout = p.connect_timeout
        t.auth_timeout = p.connect_timeout
        if entries:
            # Negotiate a key type we already know, so a server offering several types is not
            # mistaken for a changed key.
            opts = t.get_security_options()
            preferred = [k for k in opts.key_types if k in set(entries.keys())]
            if preferred:
                opts.key_types = preferred
        try:
            t.start_client(timeout=p.connect_timeout)
            # start_client returns silently when its timeout passes mid-handshake (a port that accepts
            # and never answers); the next call would then fail with "No existing session".
            if not t.is_active() or not getattr(t, "initial_kex_done", True):
                raise paramiko.SSHException(f"no SSH handshake within {p.connect_timeout:g}s")
        except (paramiko.SSHException, EOFError, OSError) as exc:
            why = _probe_not_ssh(p) if p.proxy_jump is None else " ".join(str(exc).split())
            raise TargetError(f"{where}: SSH handshake failed: {why}") from exc
        key = t.get_remote_server_key()
        if entries:
            known_key = entries.get(key.get_name())
            if known_key is None or known_key != key:
                raise TargetError(
                    f"{where}: HOST KEY CHANGED: the server presents {_fingerprint(key)} but {kh_path} "
                    f"holds a different key for {kh_name}. This can be a man-in-the-middle attack; "
                    "refused. If the change is expected, remove the old line (ssh-keygen -R) and verify "
                    "the new key out of band."
                )
        elif p.accept_new_host_keys:
            _store_host_key(kh_path, kh_name, key)
        else:
            raise TargetError(
                f"{where}: unknown host key {_fingerprint(key)}: {kh_name} is not in {kh_path}. "
                "Verify the fingerprint, then rerun with --accept-new-host-keys to store it "
                "(or add it with ssh-keyscan / a first `ssh` login)."
            )
        try:
            _authenticate(t, p, where)
        except (paramiko.SSHException, EOFError, OSError) as exc:  # the server went away mid-login
            raise TargetError(
                f"{where}: connection lost during authentication: {exc or type(exc).__name__}"
            ) from exc
    except BaseException:
        t.close()
        if jump is not None:
            jump.close()
        raise
    if jump is not None:
        t._chom_jump = jump  # type: ignore[attr-defined]  # closed with the transport
    return t


def _store_host_key(path: Path, name: str, key: paramiko.PKey) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write(f"{name} {key.get_name()} {key.get_base64()}\n")


def _load_key(path: str, where: str) -> paramiko.PKey:
    try:
        return paramiko.PKey.from_path(path)
    except paramiko.PasswordRequiredException:
        pass
    except (OSError, paramiko.SSHException, ValueError) as exc:
        raise TargetError(f"{where}: cannot load identity file {path}: {exc}") from exc
    passphrase = os.environ.get("CHOM_SSH_PASSPHRASE")
    if passphrase is None:
        if not sys.stdin.isatty():
            raise TargetError(
                f"{where}: identity file {path} is encrypted; set CHOM_SSH_PASSPHRASE or use ssh-agent "
                "(a passphrase is never accepted on the command line)"
            )
        with _PASSPHRASE_LOCK:
            passphrase = getpass.getpass(f"Passphrase for {path}: ")
    try:
        return paramiko.PKey.from_path(path, password=passphrase)
    except (OSError, paramiko.SSHException, ValueError) as exc:
        raise TargetError(f"{where}: cannot decrypt identity file {path}: {exc}") from exc


def _default_identities() -> list[str]:
    d = Path.home() / ".ssh"
    return [str(d / n) for n in ("id_ed25519", "id_ecdsa", "id_rsa") if (d / n).is_file()]


def _authenticate(t: paramiko.Transport, p: SshParams, where: str) -> None:
    user = p.user or getpass.getuser()
    tried: list[str] = []
    files = [os.path.expanduser(f) for f in p.identity_files] or _default_identities()
    for f in files:
        if not Path(f).is_file():
            tried.append(f"{f} (missing)")
            continue
        key = _load_key(f, where)
        try:
            t.auth_publickey(user, key)
            return
        except paramiko.AuthenticationException:
            tried.append(f)
        except (paramiko.SSHException, OSError) as exc:
            raise TargetError(f"{where}: authentication aborted: {exc}") from exc
    if p.use_agent and not p.identity_files:
        agent_keys = paramiko.Agent().get_keys()
        for akey in agent_keys:
            try:
                t.auth_publickey(user, akey)
                return
            except paramiko.AuthenticationException:
                continue
        if agent_keys:
            tried.append(f"{len(agent_keys)} ssh-agent key(s)")
    raise TargetError(
        f"{where}: authentication failed for user {user!r}: tried {', '.join(tried) or 'no keys'}; "
        "give the key with identity_file in chom-validate.yaml, IdentityFile in ssh_config, "
        "ansible_ssh_private_key_file, or load it in ssh-agent"
    )


class SshHost(CollectedFiles):
    """Files and allow-listed command outputs of one host, collected up front by ``prepare()``."""

    kind = "ssh"
    capabilities = frozenset({"files", "commands", "live"})

    def __init__(self, params: SshParams) -> None:
        self.params = params
        self.name = params.name
        self.problems: list[TargetProblem] = []
        self.stats = TargetStats()
        self._files: dict[str, bytes] = {}
        self._entries: dict[str, FileEntry] = {}
        self._commands: dict[tuple[str, ...], CommandResult] = {}
        self._prepared = False
        self._closed = False
        t0 = time.perf_counter()
        self._transport = connect_transport(params)
        self.stats.extra["connect_seconds"] = round(time.perf_counter() - t0, 3)
        self.stats.extra["wire_bytes"] = 0
        self.stats.extra["exec_channels"] = 0

    # -- transport ----------------------------------------------------------------------------------
    @property
    def _prefix(self) -> str:
        return "/" + self.params.path_prefix.strip("/") if self.params.path_prefix.strip("/") else ""

    def _remote(self, rel: str) -> str:
        return f"{self._prefix}/{rel.lstrip('/')}"

    def _dropped(self, exc: BaseException | None = None) -> TargetError:
        why = " ".join(str(exc).split()) if exc else ""
        return TargetError(
            f"{self.params.where}: connection dropped mid-run (sshd stopped or network lost)"
            + (f": {why}" if why else "")
        )

    def _open_exec(self, command: str) -> paramiko.Channel:
        """Open a session channel and start ``command``; one retry when the server refuses a channel
        while the connection is alive (a busy sshd can reject a session under load)."""
        for attempt in (1, 2):
            try:
                chan = self._transport.open_session(timeout=self.params.connect_timeout)
                self.stats.extra["exec_channels"] += 1
                chan.exec_command(command)
                return chan
            except (paramiko.SSHException, EOFError, OSError) as exc:
                if attempt == 2 or not self._transport.is_active():
                    if self._transport.is_active():
                        raise TargetError(
                            f"{self.params.where}: the server refused a session channel: {exc}"
                        ) from exc
                    raise self._dropped(exc) from exc
                time.sleep(0.2)
        raise AssertionError("unreachable")

    def _exec_raw(self, argv: list[str], limit: int | None = None) -> _Raw:
        """Run one allow-listed argv on its own channel, with the command timeout."""
        full = ["sudo", "-n", *argv] if self.params.sudo else list(argv)
        if not is_allowed(full):
            raise CommandNotAllowed(
                f"{self.params.where}: command not in the allow-list, not sent: {shlex.join(argv)}"
            )
        if not self._transport.is_active():
            raise self._dropped()
        t0 = time.perf_counter()
        deadline = t0 + self.params.command_timeout
        chan = self._open_exec(shlex.join(full))
        out, err = bytearray(), bytearray()
        timed_out = truncated = False
        try:
            while True:
                while chan.recv_ready():
                    out += chan.recv(1 << 16)
                while chan.recv_stderr_ready():
                    err += chan.recv_stderr(1 << 16)
                if limit is not None and len(out) > limit:
                    truncated = True
                    break
                if (
                    chan.exit_status_ready()
                    and not chan.recv_ready()
                    and not chan.recv_stderr_ready()
                    and (chan.eof_received or chan.closed)
                ):
                    break
                if not self._transport.is_active():
                    raise self._dropped()
                now = time.perf_counter()
                if now > deadline:
                    timed_out = True
                    break
                select.select([chan], [], [], min(0.05, max(0.0, deadline - now)))
            rc = -1 if (timed_out or truncated) else chan.recv_exit_status()
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise self._dropped(exc) from exc
        finally:
            chan.close()
        self.stats.extra["wire_bytes"] += len(out) + len(err)
        stderr = err.decode("utf-8", "replace").strip()
        if timed_out:
            stderr += f"\n(timed out after {self.params.command_timeout:g}s; channel closed)"
        if truncated:
            stderr += f"\n(output above {limit} bytes; stopped)"
        return _Raw(rc, bytes(out), stderr.strip(), timed_out, truncated, time.perf_counter() - t0)

    def _sudo_problem(self, r: _Raw) -> str | None:
        """With --sudo, a failure of sudo itself (missing, needs a password, not allowed), or None."""
        if not self.params.sudo or r.rc == 0:
            return None
        err = r.stderr.lower()
        if r.rc == 127 and "sudo" in err and "not found" in err:
            return "--sudo was given but `sudo` is not installed on the host; rerun without --sudo"
        if "a password is required" in err or "a terminal is required" in err:
            return (
                "--sudo: sudo asks for a password (sudo -n cannot answer); allow the read-only commands "
                "with NOPASSWD in sudoers, or rerun without --sudo"
            )
        if "is not in the sudoers file" in err or "not allowed to execute" in err:
            return f"--sudo: the login user may not use sudo here ({' '.join(r.stderr.split())[:160]})"
        return None

    def _exec(self, argv: list[str]) -> CommandResult:
        r = self._exec_raw(argv)
        problem = self._sudo_problem(r)
        if problem:
            raise TargetError(f"{self.params.where}: {problem}")
        # 127 is the shell's "not found"; with --sudo, sudo reports it in its own words.
        name = argv[0]
        missing = not r.timed_out and (
            r.rc == 127
            or (r.rc != 0 and any(f"{name}: {m}" in r.stderr for m in ("command not found", "not found")))
        )
        return CommandResult(
            argv=list(argv),
            returncode=r.rc,
            stdout=r.data.decode("utf-8", "replace"),
            stderr=r.stderr,
            duration=r.duration,
            missing=missing,
            timed_out=r.timed_out,
        )

    # -- collection ---------------------------------------------------------------------------------
    def prepare(self, paths: list[str], commands: list[list[str]]) -> None:
        """Fetch every file and command output the run needs, in a constant number of round trips."""
        t0 = time.perf_counter()
        wanted = list(dict.fromkeys([*self.params.collect, *(p.lstrip("/") for p in paths if p.strip("/"))]))
        plain = [p.rstrip("/") for p in wanted if not any(ch in p for ch in "*?[")]
        globs = [p for p in wanted if any(ch in p for ch in "*?[")]
        cmds = [list(c) for c in dict.fromkeys(tuple(c) for c in commands) if tuple(c) not in self._commands]
        for c in cmds:
            if not is_allowed(c):
                raise CommandNotAllowed(
                    f"{self.name}: a check asked for a command outside the allow-list: {c}"
                )
        workers = max(1, self.params.max_channels)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            tar_f = pool.submit(self._tar, plain) if plain else None
            glob_f = pool.submit(self._expand_globs, globs) if globs else None
            cmd_fs = [(tuple(c), pool.submit(self._exec, c)) for c in cmds]
            waves = 1 + (len(cmds) + (2 if globs else 1) - 1) // workers if (cmds or plain or globs) else 0
            if tar_f is not None:
                tar_f.result()
            matched = glob_f.result() if glob_f is not None else []
            for key, f in cmd_fs:
                self._commands[key] = f.result()
        if matched:
            self._tar(matched)
            waves += 1
        self.stats.round_trips += waves
        self.stats.commands += len(cmds)
        self.stats.files = len(self._entries)
        self.stats.bytes = sum(len(b) for b in self._files.values())
        self.stats.seconds += time.perf_counter() - t0
        self._prepared = True

    def _tar(self, rels: list[str]) -> None:
        argv = ["tar", "-czf", "-", "--ignore-failed-read"]
        argv += [f"--exclude={x}" for x in self.params.excludes]
        argv += ["-C", "/", "--", *(self._remote(r) for r in rels)]
        res = self._exec_raw(argv, limit=self.params.max_total_bytes)
        problem = self._sudo_problem(res)
        if problem:
            raise TargetError(f"{self.params.where}: {problem}")
        if res.timed_out:
            raise TargetError(
                f"{self.params.where}: collecting files timed out after {self.params.command_timeout:g}s "
                "(raise --command-timeout or narrow hosts.<h>.collect)"
            )
        if res.truncated:
            self.problems.append(
                TargetProblem(
                    self._prefix or "/",
                    f"collected archive exceeds {self.params.max_total_bytes} bytes; collection stopped, "
                    "files after that point were not read",
                )
            )
        if res.rc == 127:
            raise TargetError(
                f"{self.params.where}: `tar` is not installed on the host; cannot collect files"
            )
        for line in res.stderr.splitlines():
            if "Permission denied" in line:
                self.problems.append(
                    TargetProblem(_strip_tar_msg(line, self._prefix), "permission denied (try --sudo)")
                )
        if not res.data:
            return
        self._extract(res.data, truncated=res.truncated)

    def _extract(self, data: bytes, *, truncated: bool) -> None:
        strip = self._prefix.lstrip("/")
        links: list[tuple[str, str]] = []
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tf:
                for m in tf:
                    name = m.name.lstrip("/")
                    if strip:
                        if not name.startswith(strip + "/"):
                            continue
                        name = name[len(strip) + 1 :]
                    name = posixpath.normpath(name)
                    if name.startswith("..") or name == ".":
                        continue
                    if self._excluded(name):
                        continue
                    if m.issym():
                        links.append((name, m.linkname))
                        continue
                    if not m.isfile():
                        continue
                    if m.size > self.params.max_file_size:
                        self.problems.append(
                            TargetProblem(
                                name,
                                f"file is {m.size} bytes, above the {self.params.max_file_size} byte cap; not read",
                            )
                        )
                        continue
                    fh = tf.extractfile(m)
                    if fh is None:
                        continue
                    self._files[name] = fh.read()
                    self._entries[name] = FileEntry(name, m.size, statmod.S_IMODE(m.mode), m.uid, m.gid)
        except (tarfile.TarError, EOFError, OSError) as exc:
            if not truncated:
                self.problems.append(
                    TargetProblem(self._prefix or "/", f"collected archive is damaged: {exc}")
                )
        for name, target in links:
            real = posixpath.normpath(
                target.lstrip("/")
                if target.startswith("/")
                else posixpath.join(posixpath.dirname(name), target)
            )
            if target.startswith("/") and strip:
                real = real[len(strip) + 1 :] if real.startswith(strip + "/") else "../" + real
            if real in self._files:
                self._files[name] = self._files[real]
                e = self._entries[real]
                self._entries[name] = FileEntry(name, e.size, e.mode, e.uid, e.gid)
            elif not real.startswith(".."):
                continue  # link to a directory or to a file outside the collected set: nothing to read
            else:
                self.problems.append(
                    TargetProblem(name, f"symlink leaves the collected tree (-> {target}); refused")
                )

    def _excluded(self, rel: str) -> bool:
        """tar's --exclude semantics (unanchored: a glob matches the path or any trailing part of it)."""
        parts = rel.split("/")
        tails = ["/".join(parts[i:j]) for i in range(len(parts)) for j in range(i + 1, len(parts) + 1)]
        return any(fnmatchcase(t, x.strip("/")) for x in self.params.excludes for t in tails)

    def _expand_globs(self, globs: list[str]) -> list[str]:
        """List the parent directory of each glob over SFTP (one request each, same wave as tar)."""
        out: list[str] = []
        try:
            sftp = self._transport.open_sftp_client()
        except (paramiko.SSHException, EOFError, OSError) as exc:
            self.problems.append(TargetProblem(globs[0], f"SFTP unavailable, globs not expanded: {exc}"))
            return out
        self.stats.extra["exec_channels"] += 1
        try:
            chan = sftp.get_channel()
            if chan is not None:
                chan.settimeout(self.params.command_timeout)
            for g in globs:
                parent = g
                while any(ch in parent for ch in "*?["):
                    parent = posixpath.dirname(parent)
                try:
                    names = sftp.listdir_attr(self._remote(parent))
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    self.problems.append(TargetProblem(parent, f"cannot list directory: {exc}"))
                    continue
                for a in names:
                    rel = posixpath.join(parent, a.filename)
                    if a.st_mode is not None and statmod.S_ISDIR(a.st_mode):
                        continue
                    if fnmatchcase(rel, g):
                        out.append(rel)
        finally:
            sftp.close()
        return sorted(set(out))

    # -- Target protocol (files, read_bytes, exists, stat, glob: CollectedFiles) ------------------------
    def _not_collected(self, path: str) -> str:
        return f"{self.name}: {path} was not collected"

    def run(self, argv: list[str]) -> CommandResult:
        key = tuple(argv)
        if key not in self._commands:
            # Not planned up front: one extra round trip (a check that did not declare `commands=`).
            self._commands[key] = self._exec(list(argv))
            self.stats.round_trips += 1
            self.stats.commands += 1
        return self._commands[key]

    def command_results(self) -> list[CommandResult]:
        return list(self._commands.values())

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        jump = getattr(self._transport, "_chom_jump", None)
        with contextlib.suppress(Exception):
            self._transport.close()
        if jump is not None:
            with contextlib.suppress(Exception):
                jump.close()


@dataclass
class _Raw:
    rc: int
    data: bytes
    stderr: str
    timed_out: bool
    truncated: bool
    duration: float


def _strip_tar_msg(line: str, prefix: str) -> str:
    # "tar: /p/etc/ssl/private: Cannot open: Permission denied" -> "etc/ssl/private"
    parts = line.split(": ")
    path = parts[1] if len(parts) > 2 else line
    path = path.lstrip("/")
    strip = prefix.lstrip("/")
    return path[len(strip) + 1 :] if strip and path.startswith(strip + "/") else path
