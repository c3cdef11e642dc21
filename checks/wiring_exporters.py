"""Exporter wiring: a containerised exporter sees what it is meant to measure."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

from chom_validate.engine import ScanContext
from chom_validate.facts.monitoring import compose_services
from chom_validate.findings import Evidence, Result
from chom_validate.registry import check

_NODE_IMAGE = re.compile(r"(^|/)node[-_]exporter(:|@|$)")
_MAX_JSON = 2_000_000


@dataclass
class NodeContainer:
    """One node_exporter container: where it is defined and what of the host it can see."""

    where: str  # label for messages
    evidence: Evidence
    rootfs_flag: str | None  # value of --path.rootfs (None: not set)
    host_root_at: set[str]  # container paths where the host's / is mounted


def _flag(words: list[str], name: str) -> str | None:
    for i, w in enumerate(words):
        if w.startswith(name + "="):
            return w.split("=", 1)[1].strip("'\"")
        if w == name and i + 1 < len(words):
            return words[i + 1].strip("'\"")
    return None


def _compose_containers(ctx: ScanContext) -> list[NodeContainer]:
    out = []
    for s in compose_services(ctx.artifacts("yaml")):
        if not _NODE_IMAGE.search(s.image.split("@", 1)[0].lower()):
            continue
        roots = set()
        for v in s.volumes:
            parts = v.split(":")
            if len(parts) >= 2 and parts[0].rstrip("/") == "":
                roots.add(parts[1].rstrip("/") or "/")
        out.append(
            NodeContainer(
                f"compose service {s.name} ({s.art.label})",
                s.art.evidence(s.line_of("image"), note=f"image {s.image}"),
                _flag(s.command, "--path.rootfs"),
                roots,
            )
        )
    return out


def _line_of(text: str, needle: str, start: int = 0) -> int | None:
    i = text.find(needle, start)
    return text.count("\n", 0, i) + 1 if i >= 0 else None


def _ecs_containers(ctx: ScanContext) -> list[NodeContainer]:
    """Containers of ECS task definitions (JSON with `containerDefinitions`)."""
    out = []
    for path in ctx.index.files:
        if not path.endswith(".json"):
            continue
        try:
            text = ctx.target.read_text(path)
        except Exception:  # unreadable: nothing deployed that we can see
            continue
        if "containerDefinitions" not in text or len(text) > _MAX_JSON:
            continue
        try:
            data = json.loads(text)
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        data = data.get("taskDefinition", data)
        defs = data.get("containerDefinitions") if isinstance(data, dict) else None
        if not isinstance(defs, list):
            continue
        vols = {
            v.get("name"): (v.get("host") or {}).get("sourcePath")
            for v in data.get("volumes") or []
            if isinstance(v, dict)
        }
        for c in defs:
            if not isinstance(c, dict) or not _NODE_IMAGE.search(str(c.get("image", "")).lower()):
                continue
            words = [str(w) for w in (c.get("command") or []) + (c.get("entryPoint") or [])]
            roots = {
                str(m.get("containerPath", "")).rstrip("/") or "/"
                for m in c.get("mountPoints") or []
                if isinstance(m, dict)
                and str(vols.get(m.get("sourceVolume")) or "").rstrip("/") == ""
                and vols.get(m.get("sourceVolume")) is not None
            }
            line = _line_of(text, f'"{c.get("image")}"')
            out.append(
                NodeContainer(
                    f"ECS container {c.get('name', '?')} ({path})",
                    Evidence(
                        path=path,
                        line=line,
                        excerpt=f'"image": "{c.get("image")}"',
                        note="node_exporter container",
                    ),
                    _flag(words, "--path.rootfs"),
                    roots,
                )
            )
    return out


@check("MON031", "node-exporter-sees-host", category="monitoring", severity="medium", pillar="observability")
def node_exporter_sees_host(ctx: ScanContext) -> Iterator[Result]:
    """A containerised node_exporter is given the host's root filesystem and `--path.rootfs`.

    What it does
        Finds node_exporter containers (Compose services, ECS task definitions) and checks that
        the host's `/` is mounted into the container and that `--path.rootfs` points at that
        mount. Without both, the filesystem collector reads the container's own mount table.
    Why it matters
        `node_filesystem_*` then describes the container's overlay, not the host disks: the
        disk-full alerts and capacity dashboards watch a filesystem nobody writes to, and a full
        host disk is never noticed. The exporter looks healthy (`up == 1`), so nothing says so.
    Example
        ECS task: "image": "prom/node-exporter", "mountPoints" empty, no --path.rootfs
    Fix
        Mount the host root read-only (`/:/host:ro`, or an ECS volume with `sourcePath: /`) and
        start node_exporter with `--path.rootfs=/host` (and host PID/network namespaces).
    References
        https://github.com/prometheus/node_exporter#docker
    """
    containers = _compose_containers(ctx) + _ecs_containers(ctx)
    if not containers:
        yield Result.not_applicable("no node_exporter container in this target")
        return
    failed = 0
    for c in containers:
        flag = c.rootfs_flag.rstrip("/") or "/" if c.rootfs_flag else None
        if flag and flag in c.host_root_at:
            continue
        failed += 1
        if not c.host_root_at and not flag:
            why = "mounts nothing of the host's / and sets no --path.rootfs"
        elif not flag:
            why = f"mounts the host's / at {', '.join(sorted(c.host_root_at))} but sets no --path.rootfs"
        else:
            why = f"sets --path.rootfs={c.rootfs_flag}, where the host's / is not mounted"
        yield Result.fail(
            f"{c.where}: node_exporter {why}, so node_filesystem_* describes the container, not the "
            "host disks (disk-full alerts watch nothing)",
            c.evidence,
            subject=c.where,
        )
    if not failed:
        yield Result.passed(
            f"{len(containers)} node_exporter container(s) read the host's root filesystem",
            containers[0].evidence,
        )
