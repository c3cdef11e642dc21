#!/usr/bin/env python3
"""Regenerate src/chom_validate/data/systemd_syscall_groups.json from the local systemd + libseccomp.

The exposure score (chom_validate.artifacts.systemd_security) needs the members of systemd's
syscall groups (`systemd-analyze syscall-filter`) and which names libseccomp resolves on x86_64:
systemd skips names it cannot resolve, so we must too to agree with `systemd-analyze security`.
Run on a machine with the systemd version the weights were taken from (see the module docstring).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import re
import subprocess
import sys
from pathlib import Path

OUT = (
    Path(__file__).resolve().parent.parent / "src" / "chom_validate" / "data" / "systemd_syscall_groups.json"
)


def main() -> int:
    out = subprocess.run(
        ["systemd-analyze", "syscall-filter", "--no-pager"], capture_output=True, text=True, check=True
    ).stdout
    version = subprocess.run(["systemd-analyze", "--version"], capture_output=True, text=True).stdout
    groups: dict[str, list[str]] = {}
    current: str | None = None
    for line in out.splitlines():
        if line.startswith("@"):
            current = line.strip()
            groups[current] = []
        elif current and line.strip() and not line.strip().startswith("#"):
            groups[current].append(line.strip())
        elif not line.strip():
            current = None
    lib = ctypes.CDLL(ctypes.util.find_library("seccomp") or "libseccomp.so.2")
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_syscall_resolve_name.restype = ctypes.c_int
    names = {m for ms in groups.values() for m in ms if not m.startswith("@")}
    resolvable = sorted(n for n in names if lib.seccomp_syscall_resolve_name(n.encode()) >= 0)
    data = {
        "systemd": re.sub(r"\s+", " ", version.splitlines()[0]),
        "arch": "x86_64",
        "groups": groups,
        "resolvable": resolvable,
    }
    OUT.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT}: {len(groups)} groups, {len(resolvable)}/{len(names)} resolvable names")
    return 0


if __name__ == "__main__":
    sys.exit(main())
