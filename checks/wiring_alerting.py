"""Alertmanager receivers joined with what the repository deploys: can a notification leave at all?"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

from chom_validate.api import Context as ScanContext
from chom_validate.artifacts import Artifact
from chom_validate.artifacts.alertmanager import AlertmanagerConfig, Integration, Receiver
from chom_validate.artifacts.yamlfile import LineDict
from chom_validate.facts.hosts import deployment_model
from chom_validate.facts.monitoring import ComposeService, compose_services
from chom_validate.facts.urls import url_parts
from chom_validate.findings import Evidence, Result
from chom_validate.registry import check

from ._monitoring_util import is_example, is_fixture

_LOOPBACK = re.compile(r"^(?:localhost|127\.\d+\.\d+\.\d+|::1|0\.0\.0\.0|ip6-localhost)$", re.I)
_URL_KEYS = ("url", "api_url", "webhook_url")
_UNRENDERED_VAR = re.compile(r"\$\{([A-Za-z_]\w*)(?::?-[^}]*)?\}|:\s*[\"']?(\$[A-Z_][A-Z0-9_]{2,})[\"']?\s*$")
_RENDERERS = re.compile(r"\b(?:envsubst|gomplate|consul-template|confd|j2|jinja2?|ytt|sed\s+-i|perl\s+-pi)\b")
_MTA_PACKAGES = re.compile(
    r"^(?:postfix|exim4?|exim4-daemon-\w+|sendmail|opensmtpd|nullmailer|msmtp-mta|dma)$"
)
_MTA_PORTS = {25, 465, 587}
_TEMPLATE_SOURCE = re.compile(
    r"\.(?:j2|jinja2?|tmpl|tpl|template|in|dist|sample|example)$|\.tmpl\.|\.template\.", re.I
)


@dataclass
class _Hole:
    receiver: str
    message: str
    evidence: list[Evidence]


def _configs(ctx: ScanContext) -> list[tuple[Artifact, AlertmanagerConfig]]:
    return [(a, c) for a, c in ctx.parsed("alertmanager_config") if not is_fixture(a) and not is_example(a)]


def _containers(ctx: ScanContext, art: Artifact, services: list[ComposeService]) -> list[ComposeService]:
    """Compose Alertmanager services that mount this config (its file or a directory holding it)."""
    out = []
    for s in services:
        if s.tool != "alertmanager":
            continue
        base = posixpath.dirname(s.art.path)
        for v in s.volumes:
            src = v.split(":", 1)[0]
            if not src.startswith((".", "/")):
                continue  # a named volume
            p = posixpath.normpath(posixpath.join(base, src)) if src.startswith(".") else src.lstrip("/")
            if art.path == p or art.path.startswith(p.rstrip("/") + "/"):
                out.append(s)
                break
    return out


def _usage(cfg: AlertmanagerConfig) -> tuple[set[str], str | None]:
    used = {r.receiver for r in cfg.route.walk() if r.receiver} if cfg.route else set()
    return used, cfg.route.receiver if cfg.route else None


def _severity(name: str, used: set[str], root: str | None) -> str:
    """The only receiver any route uses: every alert is lost (critical); the root route's default
    receiver: high; a sub-route's: medium; a receiver no route uses: low."""
    if name not in used:
        return "low"
    if used == {name}:
        return "critical"
    return "high" if name == root else "medium"


def _listeners(ctx: ScanContext) -> tuple[dict[int, str], bool]:
    """Ports the repository deploys a listener on (any role) -> what listens; and whether the tree
    deploys anything at all (without services nothing can be said about what listens, nor when a
    listener's port comes from a value the scripts do not fix)."""
    model = deployment_model(cast(Any, ctx))  # the engine's context; facts.hosts types it so
    ports: dict[int, str] = {}
    deploys = False
    unknown = any(ln.port is None for role in model.roles for ln in role.listeners)
    for role in model.roles:
        deploys = not unknown and (deploys or bool(role.services or role.listeners or role.packages))
        for ln in role.listeners:
            if ln.port is not None:
                ports.setdefault(ln.port, f"{ln.what} at {ln.at}")
        if any(_MTA_PACKAGES.match(p) for p in role.packages):
            for p in _MTA_PORTS:
                ports.setdefault(p, f"MTA package on role {role.name}")
    return ports, deploys


def _line(d: LineDict, key: str) -> int:
    """The line of ``key`` (a default, empty mapping has no line table)."""
    return getattr(d, "key_lines", {}).get(key, d.line)


def _endpoint(it: Integration, cfg: AlertmanagerConfig) -> tuple[str, str, int, int] | None:
    """(key, host, port, line) the integration connects to, when it is written as a literal."""
    d = it.raw
    if it.kind == "email":
        raw = d.get("smarthost") or cfg.global_.get("smtp_smarthost")
        line = _line(d, "smarthost") if d.get("smarthost") else _line(cfg.global_, "smtp_smarthost")
        m = re.match(r"^\[?([^\]]+?)\]?:(\d+)$", str(raw or ""))
        return ("smarthost", m.group(1), int(m.group(2)), line) if m else None
    for key in _URL_KEYS:
        value = d.get(key)
        if isinstance(value, str) and "://" in value:
            try:
                u = url_parts(value)
            except ValueError:
                continue  # not a number: MON012 reports the URL
            host = u.netloc.rsplit("@", 1)[-1]
            host = host[1:].split("]", 1)[0] if host.startswith("[") else host.split(":", 1)[0]
            port = u.port or {"http": 80, "https": 443}.get(u.scheme)
            if host and port:
                return key, host, port, _line(d, key)
    return None


def _auth_hole(it: Integration, cfg: AlertmanagerConfig) -> tuple[str, int, list[int]] | None:
    """An e-mail integration that authenticates with a user name and no password or secret."""
    if it.kind != "email":
        return None
    d, g = it.raw, cfg.global_
    user = d.get("auth_username") if "auth_username" in d else g.get("smtp_auth_username")
    if not user or not str(user).strip():
        return None
    for key in ("auth_password", "auth_password_file", "auth_secret", "auth_secret_file"):
        v = d.get(key) if key in d else g.get("smtp_" + key)
        if v is not None and str(v).strip():
            return None
    line = _line(d, "auth_username") if "auth_username" in d else _line(g, "smtp_auth_username")
    empty = [_line(d, k) for k in ("auth_password",) if k in d] or [
        _line(g, k) for k in ("smtp_auth_password",) if k in g
    ]
    return str(user), line, empty


def _rendered(ctx: ScanContext, art: Artifact) -> Evidence | None:
    """A script, unit or compose file that renders this config (envsubst, sed -i, a template tool)."""
    base = posixpath.basename(art.path)
    stem = base.rsplit(".", 1)[0]
    for other in ctx.index.artifacts:
        if other is art or other.kind == "markdown" or stem not in other.text:
            continue
        for i, ln in enumerate(other.lines, 1):
            if stem in ln and _RENDERERS.search(ln):
                return other.evidence(i, note="renders the config")
    return None


@check(
    "MON035", "alertmanager-receiver-deliverable", category="monitoring", severity="high", pillar="operations"
)
def receiver_deliverable(ctx: ScanContext) -> Iterator[Result]:
    """Each receiver's endpoint is one a notification can reach from where Alertmanager runs.

    What it does
        Joins every receiver integration with what the repository deploys:
        a webhook/Slack/API URL or an SMTP smarthost on a loopback address (`127.0.0.1`,
        `localhost`) fails when Alertmanager runs in a container that mounts this config (loopback
        is the container itself; nothing shares its network namespace), or, outside containers,
        when the repository deploys services but nothing listening on that port (an MTA package
        counts for SMTP ports); an e-mail integration that authenticates (`auth_username` or
        `smtp_auth_username`) with no password, password file or secret fails; `${VAR}` and
        `$VAR` left in the config fail when nothing in the repository renders it (Alertmanager
        does not expand environment variables, the literal text is the URL or password). The
        receiver line and the route that uses it are the evidence.
    Why it matters
        Every notification to such a receiver fails (connection refused, 535 authentication
        failed, an invalid URL): the config validates, alerts fire, nobody is told.
    Example
        route: {receiver: ops}
        receivers:
          - name: ops
            webhook_configs: [{url: http://127.0.0.1:5001/}]   # alertmanager runs in docker
    Fix
        Point the receiver at the service's name on the compose network (`http://relay:5001/`) or
        at the real endpoint; set `smtp_auth_password_file`; render the file (`envsubst`) at deploy
        time or use the `*_file` settings.
    References
        https://prometheus.io/docs/alerting/latest/configuration/#receiver-integration-settings
        https://github.com/prometheus/alertmanager/issues/504
    Severity
        High: notifications to the receiver can never be delivered; critical when it is the only
        receiver any route uses (every alert is lost), medium on a sub-route, low when unused.
    """
    configs = _configs(ctx)
    if not configs:
        yield Result.not_applicable("no deployed Alertmanager config found")
        return
    services = ctx.derived("monitoring:compose", lambda: compose_services(ctx.artifacts("yaml")))
    ports, deploys = _listeners(ctx)
    for art, cfg in configs:
        if art.embedded and art.templated:
            yield Result.not_applicable(
                f"{art.label}: values come from the script that writes it", subject=art.path
            )
            continue
        used, root = _usage(cfg)
        route_ev = {
            r.receiver: art.evidence(r.line_of("receiver"), note="route using this receiver")
            for r in (cfg.route.walk() if cfg.route else [])
            if r.receiver
        }
        containers = _containers(ctx, art, services)
        # sidecars in Alertmanager's network namespace (`network_mode: service:alertmanager`) listen on its loopback
        shared = {
            s.network_mode
            for s in services
            if s.network_mode and s.network_mode.startswith(("service:", "container:"))
        }
        holes: list[_Hole] = []
        checked = 0
        for rec in cfg.receivers:
            holes += _receiver_holes(ctx, art, cfg, rec, route_ev, containers, shared, ports, deploys)
            checked += len(rec.integrations)
        unrendered = _unrendered_holes(ctx, art, cfg)
        holes += unrendered
        if not holes:
            if checked:
                yield Result.passed(
                    f"{art.label}: {checked} receiver integration(s) point at endpoints that can be reached",
                    art.evidence(cfg.receivers[0].line if cfg.receivers else 1),
                    subject=art.path,
                )
            else:
                yield Result.not_applicable(f"{art.label}: no receiver integrations", subject=art.path)
            continue
        for h in holes:
            yield Result.fail(
                f"{art.label}: receiver {h.receiver!r}: {h.message}",
                *h.evidence,
                subject=f"{art.path} {h.receiver}",
                severity=_severity(h.receiver, used, root)
                if h.receiver in {r.name for r in cfg.receivers}
                else None,
            )


def _receiver_holes(
    ctx: ScanContext,
    art: Artifact,
    cfg: AlertmanagerConfig,
    rec: Receiver,
    route_ev: dict[str, Evidence],
    containers: list[ComposeService],
    shared: set[str],
    ports: dict[int, str],
    deploys: bool,
) -> list[_Hole]:
    out: list[_Hole] = []
    tail = [route_ev[rec.name]] if rec.name in route_ev else []
    for it in rec.integrations:
        auth = _auth_hole(it, cfg)
        if auth:
            out.append(
                _Hole(
                    rec.name,
                    f"{it.kind} authenticates as {auth[0]!r} with no password, password file or secret: "
                    "the smarthost refuses AUTH and every e-mail fails",
                    [
                        art.evidence(auth[1]),
                        *[art.evidence(ln, note="empty password") for ln in auth[2]],
                        art.evidence(it.line, note="e-mail integration"),
                        *tail,
                    ],
                )
            )
        ep = _endpoint(it, cfg)
        if ep is None or not _LOOPBACK.match(ep[1]):
            continue
        key, host, port, line = ep
        where = f"{key} {host}:{port}"
        inside = [
            c
            for c in containers
            if c.network_mode != "host"
            and f"service:{c.name}" not in shared
            and f"container:{c.name}" not in shared
            and (c.container_name is None or f"container:{c.container_name}" not in shared)
        ]
        if inside:
            c = inside[0]
            out.append(
                _Hole(
                    rec.name,
                    f"{where} is loopback inside the {c.name!r} container, which only Alertmanager listens in: "
                    "every notification is refused",
                    [
                        art.evidence(line),
                        c.art.evidence(
                            c.line, note=f"Alertmanager runs in container {c.name} (mounts this config)"
                        ),
                        *tail,
                    ],
                )
            )
        elif not containers and deploys and port not in ports:
            out.append(
                _Hole(
                    rec.name,
                    f"{where}: the repository deploys nothing listening on port {port}: every notification "
                    "is refused",
                    [art.evidence(line), *tail],
                )
            )
    return out


def _unrendered_holes(ctx: ScanContext, art: Artifact, cfg: AlertmanagerConfig) -> list[_Hole]:
    if art.embedded or art.meta.get("rendered_from") or _TEMPLATE_SOURCE.search(art.path):
        return []  # a heredoc, a rendered template or a template source: its variables are the writer's
    refs: list[tuple[int, str]] = []
    for i, text in enumerate(art.lines, 1):
        if text.lstrip().startswith("#"):
            continue
        m = _UNRENDERED_VAR.search(text)
        if m:
            refs.append((i, m.group(2) or m.group(0)))
    if not refs:
        return []
    if _rendered(ctx, art) is not None:
        return []
    owner = _line_owner(cfg)
    by_rec: dict[str, list[tuple[int, str]]] = {}
    for ln, var in refs:
        by_rec.setdefault(owner(ln), []).append((ln, var))
    out = []
    for name, items in by_rec.items():
        out.append(
            _Hole(
                name,
                f"{', '.join(sorted({v for _, v in items}))} is never rendered (nothing in the repository runs "
                "envsubst or a template tool on this file) and Alertmanager does not expand variables: "
                "the literal text is sent as the address, URL or password",
                [art.evidence(ln) for ln, _ in items[:6]],
            )
        )
    return out


def _line_owner(cfg: AlertmanagerConfig) -> Callable[[int], str]:
    """The receiver a config line belongs to ('global settings' outside the receivers list)."""
    starts = sorted((r.line, r.name) for r in cfg.receivers)
    top = sorted(getattr(cfg.raw, "key_lines", {}).values())
    begin = cfg.raw.line_of("receivers") if "receivers" in cfg.raw else 0
    end = next((ln for ln in top if ln > begin), 1 << 30)

    def owner(line: int) -> str:
        if not starts or not begin < line < end:
            return "global settings"
        name = "global settings"
        for start, n in starts:
            if line >= start:
                name = n
        return name

    return owner
