"""Exporter wiring: a containerised exporter sees what it is meant to measure."""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass

from chom_validate.api import Context as ScanContext
from chom_validate.artifacts import Artifact
from chom_validate.artifacts.systemd import Unit
from chom_validate.facts.monitoring import compose_services
from chom_validate.facts.wiring import (
    FpmPool,
    created_mysql_users,
    dsn_user,
    fpm_scrape_uris,
    parse_fpm_pools,
    requirepass_lines,
    split_fpm_uri,
)
from chom_validate.findings import Evidence, Result, sha256_hex
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
        text = ctx.read_text(path) or ""  # "" when unreadable, binary or not collected
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
    Severity
        Medium: host disk alerts are blind with no error; the outage they should warn of is not
        caused by it.
    """
    containers = sorted(
        _compose_containers(ctx) + _ecs_containers(ctx), key=lambda c: (c.evidence.path or "", c.where)
    )
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


def _exec_words(u: Unit) -> list[str]:
    return [w for d in u.entries("Service", "ExecStart") for w in d.value.lstrip("-@:+!").split()]


def _unit_env(u: Unit) -> dict[str, str]:
    env: dict[str, str] = {}
    for d in u.entries("Service", "Environment"):
        for item in d.value.split():
            k, eq, v = item.strip("'\"").partition("=")
            if eq:
                env[k] = v
    return env


@dataclass
class ExporterLogin:
    tool: str  # redis | mysql
    where: str
    evidence: Evidence
    password: bool | None  # a password is configured (None: may come from a file we cannot see)
    user: str | None = None


def _exporter_logins(ctx: ScanContext) -> list[ExporterLogin]:
    out: list[ExporterLogin] = []
    for art, u in ctx.parsed("systemd_unit"):
        if not isinstance(u, Unit):
            continue
        words = _exec_words(u)
        prog = posixpath.basename(words[0]) if words else ""
        env = _unit_env(u)
        env_file = bool(u.entries("Service", "EnvironmentFile")) or bool(
            u.entries("Service", "LoadCredential")
        )
        d = u.last("Service", "ExecStart")
        ev = art.evidence(d.line if d else 1, note=f"{prog} login")
        flags = " ".join(words)
        if prog == "redis_exporter":
            has = (
                "REDIS_PASSWORD" in env
                or "REDIS_PASSWORD_FILE" in env
                or re.search(r"-redis\.password(-file)?[=\s]", flags) is not None
                or re.search(r"redis(s)?://[^@\s/]*:[^@\s/]+@", flags) is not None
            )
            out.append(
                ExporterLogin(
                    "redis", f"{u.name} ({art.label})", ev, True if has else None if env_file else False
                )
            )
        elif prog == "mysqld_exporter":
            user = dsn_user(env["DATA_SOURCE_NAME"]) if "DATA_SOURCE_NAME" in env else None
            m = re.search(r"--mysqld\.username[=\s]+(\S+)", flags)
            if m:
                user = m.group(1)
            else:
                dsn = next(
                    (e for e in u.entries("Service", "Environment") if "DATA_SOURCE_NAME=" in e.value), None
                )
                ev = art.evidence(dsn.line, note=f"mysqld_exporter logs in as {user}") if dsn else ev
            out.append(ExporterLogin("mysql", f"{u.name} ({art.label})", ev, None, user))
    return out


def _redis_sources(ctx: ScanContext) -> list[Artifact]:
    """Artifacts mentioning requirepass, plus Redis config files no detector claims (redis.conf)."""
    out = [a for a in ctx.index.artifacts if a.kind != "markdown" and "requirepass" in a.text]
    for path, art in ctx.index.files.items():
        base = posixpath.basename(path).lower()
        if art is not None or "redis" not in base or not base.endswith((".conf", ".conf.j2", ".conf.tpl")):
            continue
        text = ctx.read_text(path) or ""  # "" when unreadable, binary or not collected
        if "requirepass" in text and len(text) < _MAX_JSON:
            out.append(Artifact(path=path, kind="redis_config", text=text, digest=sha256_hex(text.encode())))
    return out


@check("MON033", "exporter-credentials", category="monitoring", severity="high", pillar="observability")
def exporter_credentials(ctx: ScanContext) -> Iterator[Result]:
    """Exporters log in with credentials the same deployment gives their service.

    What it does
        Joins each exporter's login with the service side of the same repository.
        Redis: a `requirepass` (config file, `redis-server --requirepass`, a script that writes
        it) against redis_exporter's password (`REDIS_PASSWORD`, `-redis.password`, a password in
        `-redis.addr`, or an `EnvironmentFile=`). MySQL: the user mysqld_exporter logs in as
        (`DATA_SOURCE_NAME`, `--mysqld.username`) against the users the repository creates
        (`CREATE USER`), when it creates any.
    Why it matters
        The exporter still answers `/metrics`, so the scrape target is up, but `redis_up` or
        `mysql_up` is 0 and every Redis or MySQL series is missing: the saturation alerts never
        fire and the "down" alert fires forever, so people learn to ignore it.
    Example
        configure-redis.sh: sed -i "s/^# requirepass .*/requirepass ${REDIS_PASSWORD}/" ...
        redis_exporter.service: ExecStart=/usr/local/bin/redis_exporter -redis.addr=redis://127.0.0.1:6379
    Fix
        Give the exporter the password from a root-only file (`EnvironmentFile=/etc/redis_exporter.env`
        with `REDIS_PASSWORD=`), and create the exporter's MySQL user with
        `CREATE USER 'exporter'@'localhost' ... WITH MAX_USER_CONNECTIONS 3; GRANT PROCESS, REPLICATION CLIENT, SELECT`.
    References
        https://github.com/oliver006/redis_exporter#command-line-flags ;
        https://github.com/prometheus/mysqld_exporter#required-grants
    Severity
        High: the exporter reports the service down forever, so its real outages page nobody (the
        alert is ignored) and its saturation alerts never fire.
    """
    logins = sorted(_exporter_logins(ctx), key=lambda lg: lg.where)
    if not logins:
        yield Result.not_applicable("no Redis or MySQL exporter unit in this target")
        return
    passes = [loc for a in _redis_sources(ctx) for loc in requirepass_lines(a)]
    users = [loc for a in ctx.index.artifacts if "CREATE" in a.text.upper() for loc in created_mysql_users(a)]
    judged = 0
    failed = 0
    for lg in logins:
        if lg.tool == "redis":
            if not passes:
                continue
            judged += 1
            if lg.password is False:
                failed += 1
                p = passes[0]
                yield Result.fail(
                    f"{lg.where}: Redis requires a password ({p.artifact.label}:{p.line + p.artifact.line_offset}) "
                    "but redis_exporter is given none: redis_up stays 0 and every Redis series is missing",
                    lg.evidence,
                    p.artifact.evidence(
                        p.line, excerpt="requirepass ********", note="requirepass (value not shown)"
                    ),
                    subject=lg.where,
                )
        elif lg.tool == "mysql" and lg.user and users and "$" not in lg.user:
            judged += 1
            names = {u.value.strip("'\"`") for u in users}
            if lg.user not in names and lg.user != "root" and not any("$" in n or "{" in n for n in names):
                failed += 1
                yield Result.fail(
                    f"{lg.where}: mysqld_exporter logs in as '{lg.user}', but the repository creates only "
                    f"{', '.join(sorted(names)[:5])}: mysql_up stays 0",
                    lg.evidence,
                    *(u.artifact.evidence(u.line, note=f"CREATE USER {u.value}") for u in users[:3]),
                    subject=lg.where,
                )
    if not judged:
        yield Result.not_applicable(
            "the repository neither sets a Redis password nor creates MySQL users: exporter logins cannot be joined"
        )
    elif not failed:
        yield Result.passed(f"{judged} exporter login(s) match their service", logins[0].evidence)


def _fpm_pools(ctx: ScanContext) -> list[FpmPool]:
    pools: list[FpmPool] = []
    for path in ctx.index.files:
        low = path.lower()
        if not low.endswith((".conf", ".conf.j2")) or ("fpm" not in low and "pool" not in low):
            continue
        text = ctx.read_text(path) or ""  # "" when unreadable, binary or not collected
        if len(text) < _MAX_JSON and "[" in text:
            pools.extend(parse_fpm_pools(path, text))
    return pools


def _pool_addr(listen: str) -> str:
    return listen if listen.startswith("/") else (listen if ":" in listen else f"127.0.0.1:{listen}")


@check("MON034", "phpfpm-exporter-status", category="monitoring", severity="medium", pillar="observability")
def phpfpm_exporter_status(ctx: ScanContext) -> Iterator[Result]:
    """php-fpm_exporter reads a status page the php-fpm pools of the repository serve.

    What it does
        Joins each `--phpfpm.scrape-uri` of a php-fpm_exporter unit (`unix:///SOCK;/PATH` or
        `tcp://HOST:PORT/PATH`) with the pool files of the same repository: the pool that
        `listen`s on that socket or port must set `pm.status_path` to that path, and a pool
        socket restricted by `listen.owner`/`listen.group`/`listen.mode` must be usable by the
        exporter's `User=`/`Group=`.
    Why it matters
        Otherwise the exporter answers, but `phpfpm_up` is 0 and every process-manager series
        (active processes, max children reached, slow requests) is missing: saturation alerts
        and dashboards stay silent while the pool is exhausted.
    Example
        php-fpm_exporter --phpfpm.scrape-uri=unix:///run/php/php8.2-fpm.sock;/fpm-status
        pool.d/chom.conf: listen = /run/php/php8.2-fpm.sock   (no pm.status_path)
    Fix
        Set `pm.status_path = /fpm-status` in the pool (and `ping.path`), or point the exporter at
        the pool's path; run the exporter in the socket's group (`listen.group`).
    References
        https://www.php.net/manual/en/install.fpm.configuration.php#pm.status-path
    Severity
        Medium: php-fpm saturation goes unseen while the exporter looks up; the pool itself keeps
        serving.
    """
    exporters = []
    for art, u in ctx.parsed("systemd_unit"):
        if not isinstance(u, Unit):
            continue
        words = _exec_words(u)
        if words and posixpath.basename(words[0]) in (
            "php-fpm_exporter",
            "php_fpm_exporter",
            "phpfpm_exporter",
        ):
            d = u.last("Service", "ExecStart")
            exporters.append((art, u, d.line if d else 1, fpm_scrape_uris(words)))
    exporters.sort(key=lambda e: e[0].path)
    if not exporters:
        yield Result.not_applicable("no php-fpm_exporter unit in this target")
        return
    pools = _fpm_pools(ctx)
    if not pools:
        yield Result.not_applicable(
            "the repository ships no php-fpm pool file: the status path cannot be joined"
        )
        return
    by_addr = {_pool_addr(p.get("listen") or ""): p for p in pools if p.get("listen")}
    judged = failed = 0
    for art, u, line, uris in exporters:
        user = u.get("Service", "User") or "root"
        group = u.get("Service", "Group") or user
        for uri in uris or ["tcp://127.0.0.1:9000/status"]:
            addr, path = split_fpm_uri(uri)
            pool = by_addr.get(addr) or by_addr.get(addr.replace("localhost", "127.0.0.1"))
            if pool is None:
                continue
            judged += 1
            status = pool.get("pm.status_path")
            problems = []
            if status is None:
                problems.append(("pm.status_path", "the pool serves no status page (no pm.status_path)"))
            elif status != path:
                problems.append(("pm.status_path", f"the pool serves its status at {status}, not {path}"))
            mode = pool.get("listen.mode") or "0660"
            owner, sgroup = pool.get("listen.owner"), pool.get("listen.group")
            if (
                addr.startswith("/")
                and owner
                and user != "root"
                and user != owner
                and group != (sgroup or owner)
                and mode[-1:] in tuple("01234567")
                and int(mode[-1], 8) & 0o2 == 0
            ):
                problems.append(
                    (
                        "listen.mode",
                        f"the socket is {mode} {owner}:{sgroup or owner} and the exporter runs as {user}:{group}",
                    )
                )
            for key, why in problems:
                failed += 1
                yield Result.fail(
                    f"{u.name} scrapes {uri}, but {why}: phpfpm_up stays 0 and the pool metrics are missing",
                    art.evidence(line, note=f"scrape-uri {uri}"),
                    Evidence(
                        path=pool.path,
                        line=pool.line_of(key) if key in pool.values else pool.line_of("listen"),
                        note=f"pool [{pool.name}] listen = {pool.get('listen')}",
                    ),
                    subject=f"{u.name}:{uri}:{key}",
                )
    if not judged:
        yield Result.not_applicable("no php-fpm pool of the repository listens where the exporter scrapes")
    elif not failed:
        yield Result.passed(
            f"{judged} php-fpm_exporter scrape URI(s) reach a pool status page",
            exporters[0][0].evidence(exporters[0][2]),
        )
