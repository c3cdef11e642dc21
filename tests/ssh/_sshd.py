"""A throwaway OpenSSH server on 127.0.0.1 for the SSH tests and benchmarks (no mocks of paramiko).

Python port of /work/shared/sshd-loopback.sh: random free port, its own host key, a client key in
authorized_keys, and ``SetEnv PATH=<fakebin>:<basebin>`` so the real server runs small fake
``systemctl``/``ss``/``ufw``/``certbot`` scripts (their output comes from files in ``fake/``) while
``tar``, ``gzip`` and ``sleep`` are the real ones. Commands that are not faked are missing (exit
127), exactly like on a host without them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")
REAL_TOOLS = (
    "tar",
    "gzip",
    "sleep",
    "cat",
    "sh",
    "bash",
    "env",
    "sudo",
    "uname",
    "stat",
    "readlink",
    "base64",
    "ls",
    "id",
    "test",
)
FAKE_COMMANDS = ("systemctl", "ss", "ufw", "certbot", "free", "hostname", "df")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True, stdin=subprocess.DEVNULL
    )


@dataclass
class Sshd:
    dir: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def client_key(self) -> Path:
        return self.dir / "client_key"

    @property
    def known_hosts(self) -> Path:
        return self.dir / "known_hosts"

    @property
    def fake(self) -> Path:
        return self.dir / "fake"

    def host_key_line(self) -> str:
        pub = (self.dir / "ssh_host_ed25519_key.pub").read_text().split()
        return f"[127.0.0.1]:{self.port} {pub[0]} {pub[1]}\n"

    def stop(self) -> None:
        """Kill the listener and every per-connection child (they run in their own sessions)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        for pid in self._descendants(self.proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    @staticmethod
    def _descendants(root: int) -> list[int]:
        out = subprocess.run(["ps", "-o", "pid=,ppid=", "-A"], capture_output=True, text=True).stdout
        children: dict[int, list[int]] = {}
        for line in out.splitlines():
            pid, ppid = (int(x) for x in line.split())
            children.setdefault(ppid, []).append(pid)
        found, todo = [], [root]
        while todo:
            for c in children.get(todo.pop(), []):
                found.append(c)
                todo.append(c)
        return found


def start_sshd(base: Path, fake_src: Path | None = None) -> Sshd:
    if not SSHD.exists():
        raise FileNotFoundError("/usr/sbin/sshd")
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o700)
    port = free_port()
    keygen(base / "ssh_host_ed25519_key")
    keygen(base / "client_key")
    shutil.copy(base / "client_key.pub", base / "authorized_keys")
    (base / "authorized_keys").chmod(0o600)
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)
    fakebin, basebin, fake = base / "fakebin", base / "basebin", base / "fake"
    # A clean HOME: the login user's ~/.bashrc (pyenv, conda...) must not run in every command.
    for d in (fakebin, basebin, fake, base / "home"):
        d.mkdir(exist_ok=True)
    for tool in REAL_TOOLS:
        real = shutil.which(tool)
        if real and not (basebin / tool).exists():
            (basebin / tool).symlink_to(real)
    for cmd in FAKE_COMMANDS:
        script = fakebin / cmd
        script.write_text(
            "#!/bin/sh\n"
            f'F="{fake}/{cmd}"\n'
            '[ -e "$F.sleep" ] && sleep "$(cat "$F.sleep")"\n'
            '[ -e "$F.out" ] || { echo "$0: no fake output" >&2; exit 1; }\n'
            'cat "$F.out"\n'
            'exit "$(cat "$F.rc" 2>/dev/null || echo 0)"\n'
        )
        script.chmod(0o755)
    if fake_src is not None:
        for f in fake_src.iterdir():
            shutil.copy(f, fake / f.name)
    (base / "sshd_config").write_text(
        f"""Port {port}
ListenAddress 127.0.0.1
HostKey {base}/ssh_host_ed25519_key
PidFile {base}/sshd.pid
AuthorizedKeysFile {base}/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
MaxSessions 64
MaxStartups 200:30:400
LogLevel ERROR
SetEnv PATH={fakebin}:{basebin} HOME={base}/home
"""
    )
    subprocess.run([str(SSHD), "-t", "-f", str(base / "sshd_config")], check=True)
    log = open(base / "sshd.log", "ab")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [str(SSHD), "-f", str(base / "sshd_config"), "-D", "-e"],
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        raise RuntimeError(f"sshd did not start; see {base}/sshd.log")
    s = Sshd(dir=base, port=port, proc=proc)
    s.known_hosts.write_text(s.host_key_line())
    return s
