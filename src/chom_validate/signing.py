"""Certificate signatures with SSH keys operators already have (``ssh-keygen -Y sign/verify``).

The signed message is the certificate's sealed bytes (canonical JSON of every field but the seal and
the signature) under the namespace ``chom-validate-certificate``, so a signature made for anything
else (git commits, other tools) never verifies as a certificate.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

NAMESPACE = "chom-validate-certificate"


class SigningError(RuntimeError):
    """ssh-keygen is missing or refused; the message says what to do."""


def _ssh_keygen() -> str:
    exe = shutil.which("ssh-keygen")
    if exe is None:
        raise SigningError("signing needs ssh-keygen (OpenSSH 8.1 or later): apt-get install openssh-client")
    return exe


def sign(data: bytes, key: Path) -> str:
    """Armored SSH signature of ``data`` by the private ``key`` (an agent-held key works too)."""
    exe = _ssh_keygen()
    if not key.is_file():
        raise SigningError(f"--sign-key {key}: no such key file")
    with tempfile.TemporaryDirectory(prefix="chom-sign-") as tmp:
        msg = Path(tmp) / "certificate"
        msg.write_bytes(data)
        proc = subprocess.run(
            [exe, "-Y", "sign", "-f", str(key), "-n", NAMESPACE, str(msg)],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )
        sig = msg.with_name("certificate.sig")
        if proc.returncode != 0 or not sig.is_file():
            raise SigningError(
                f"ssh-keygen -Y sign with {key} failed: {proc.stderr.strip() or proc.returncode}"
            )
        return sig.read_text(encoding="ascii")


def verify(data: bytes, signature: str, allowed_signers: Path) -> str:
    """The principal of ``allowed_signers`` whose key made ``signature`` over ``data``, else SigningError."""
    exe = _ssh_keygen()
    if not allowed_signers.is_file():
        raise SigningError(f"--allowed-signers {allowed_signers}: no such file")
    with tempfile.TemporaryDirectory(prefix="chom-verify-") as tmp:
        sig = Path(tmp) / "certificate.sig"
        sig.write_text(signature, encoding="ascii")
        found = subprocess.run(
            [exe, "-Y", "find-principals", "-s", str(sig), "-f", str(allowed_signers)],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )
        principals = found.stdout.split()
        if found.returncode != 0 or not principals:
            raise SigningError(f"the signing key is not in {allowed_signers}")
        proc = subprocess.run(
            [
                exe,
                "-Y",
                "verify",
                "-f",
                str(allowed_signers),
                "-I",
                principals[0],
                "-n",
                NAMESPACE,
                "-s",
                str(sig),
            ],
            input=data,
            capture_output=True,
            stdin=None,
            timeout=60,
            check=False,
        )
        if proc.returncode != 0:
            raise SigningError(f"bad signature: {proc.stderr.decode(errors='replace').strip() or 'rejected'}")
        return principals[0]
