"""What the monitoring stack deploys and scrapes: compose services, scrape targets, the scrape topology.

A compose file is how many monitoring stacks are deployed: which containers run (cAdvisor labels
series with their names), which ports are published, which command-line flags and environment a
service gets. ``compose_services(artifacts)`` reads every YAML artifact with a top-level
``services:`` mapping; nothing here does I/O beyond the artifacts already read.

``scrape_targets(ctx)`` lists the static scrape targets of every Prometheus config with the host
they point at; ``topology(ctx)`` is the scrape topology the metric checks read: the jobs, the
exporter each scrapes (metric catalog ``data/metric_catalog.yaml``), the recorded series and the
metrics scripts write for node_exporter's textfile collector.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import posixpath
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from chom_validate.api import Context
from chom_validate.artifacts import Artifact, promql
from chom_validate.artifacts.prometheus import PromConfig, RuleFile, ScrapeJob, resolve_rule_pattern
from chom_validate.artifacts.templating import UNRENDERED
from chom_validate.artifacts.yamlfile import LineDict, LineList, load_yaml
from chom_validate.findings import Evidence


@dataclass
class ComposeService:
    name: str
    art: Artifact
    line: int
    image: str = ""
    container_name: str | None = None
    command: list[str] = field(default_factory=list)
    ports: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    network_mode: str | None = None
    raw: LineDict = field(default_factory=LineDict)

    @property
    def project(self) -> str:
        """Compose's default project name: the directory holding the file."""
        d = posixpath.basename(posixpath.dirname(self.art.path)) or "."
        return re.sub(r"[^a-z0-9_-]", "", d.lower())

    def container_names(self) -> set[str]:
        """Names cAdvisor sees: container_name, or Compose's `<project>-<service>-N` / `_` forms."""
        if self.container_name:
            return {self.container_name}
        out = {self.name}
        for sep in ("-", "_"):
            out |= {f"{self.project}{sep}{self.name}{sep}{i}" for i in range(1, 4)}
        return out

    def line_of(self, key: str) -> int:
        return self.raw.line_of(key) if key in self.raw else self.line

    @property
    def tool(self) -> str:
        """The program the image runs: `prom/alertmanager:v0.28.1` -> `alertmanager`."""
        base = self.image.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0].lower()
        return base.removesuffix("-exporter").replace("node-exporter", "node_exporter")

    def flag(self, name: str) -> str | bool | None:
        """A `--name=value` / `--name value` flag of the command: its value, True for a bare switch."""
        for i, word in enumerate(self.command):
            if word == name:
                nxt = self.command[i + 1] if i + 1 < len(self.command) else ""
                return nxt if nxt and not nxt.startswith("-") else True
            if word.startswith(name + "="):
                return word.split("=", 1)[1]
        return None

    def command_line(self, needle: str) -> int:
        """The line of the command item containing ``needle`` (the `command:` key otherwise)."""
        cmd = self.raw.get("command")
        if isinstance(cmd, LineList):
            for i, item in enumerate(cmd):
                if needle in str(item) and i < len(cmd.item_lines):
                    return int(cmd.item_lines[i])
        return self.line_of("command")

    def published(self) -> list[tuple[str, str]]:
        """(host address, container port) for every port published beyond the host itself."""
        if self.network_mode == "host":
            return [("0.0.0.0", "host network")]
        out = []
        for spec in self.ports:
            parts = spec.split("/", 1)[0].rsplit(":", 2)
            host = parts[0] if len(parts) == 3 else "0.0.0.0"
            if host.strip("[]") in ("127.0.0.1", "localhost", "::1"):
                continue
            out.append((host, parts[-1]))
        return out

    def env_line(self, name: str) -> int:
        """The line of environment variable ``name`` (the `environment:` key otherwise)."""
        env = self.raw.get("environment")
        if isinstance(env, LineList):
            for i, item in enumerate(env):
                if str(item).split("=", 1)[0] == name and i < len(env.item_lines):
                    return int(env.item_lines[i])
        if isinstance(env, LineDict) and name in env:
            return env.line_of(name)
        return self.line_of("environment")

    def effective_env(self, name: str) -> str | None:
        """What ``name`` is when the operator exports nothing: `${X:-admin}` and `${X-admin}` give `admin`.

        None when the variable is unset, or comes from the operator's environment without a default.
        """
        if name not in self.environment:
            return None
        value = self.environment[name]
        m = re.fullmatch(r"\$\{\w+:?-([^}]*)\}", value)
        if m:
            return m.group(1)
        if "$" in value:
            return None
        return value

    def mounted(self, path: str) -> bool:
        """Whether ``path`` in the container is on a volume or bind mount (so it survives re-creation)."""
        path = path.rstrip("/") or "/"
        for v in self.volumes:
            bits = v.split(":")
            if len(bits) >= 2:
                target = bits[1].rstrip("/") or "/"
                if path == target or path.startswith(target + "/"):
                    return True
        return False


def _words(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, str):
        return value.split()
    return []


def _env(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    out = {}
    for item in value if isinstance(value, list) else []:
        k, _, v = str(item).partition("=")
        out[k] = v
    return out


def compose_services(artifacts: list[Artifact]) -> list[ComposeService]:
    out: list[ComposeService] = []
    for art in artifacts:
        if "services" not in art.text:
            continue
        try:
            data = load_yaml(art.text)
        except Exception:  # an unreadable YAML file simply deploys nothing we can see
            continue
        services = data.get("services") if isinstance(data, LineDict) else None
        if not isinstance(services, LineDict):
            continue
        for name, svc in services.items():
            if not isinstance(svc, LineDict):
                continue
            out.append(
                ComposeService(
                    name=str(name),
                    art=art,
                    line=services.line_of(name),
                    image=str(svc.get("image") or ""),
                    container_name=str(svc["container_name"]) if svc.get("container_name") else None,
                    command=_words(svc.get("command")),
                    ports=[str(p) for p in svc.get("ports") or [] if not isinstance(p, dict)],
                    volumes=[str(v) for v in svc.get("volumes") or [] if not isinstance(v, dict)],
                    environment=_env(svc.get("environment")),
                    network_mode=str(svc["network_mode"]) if svc.get("network_mode") else None,
                    raw=svc,
                )
            )
    return out


# -- scrape targets ----------------------------------------------------------------------------------


@dataclass
class ScrapeTarget:
    job: str
    host: str | None  # host name from config, None when unknown
    address: str
    port: int
    artifact: Artifact
    line: int
    scraper: str | None

    def evidence(self, note: str | None = None) -> Evidence:
        return self.artifact.evidence(self.line, note=note)


def host_address(ctx: Context, host: str) -> str | None:
    """An IP address of ``host`` from config (private_address preferred), or None."""
    h = ctx.config.hosts.get(host)
    if h is None:
        return None
    for a in (h.private_address, h.address):
        if a and _is_ip(a):
            return a
    return None


def _is_ip(a: str) -> bool:
    try:
        ipaddress.ip_address(a)
        return True
    except ValueError:
        return False


def host_of_address(ctx: Context, addr: str, scraper: str | None) -> str | None:
    if addr in ("localhost", "127.0.0.1", "::1", "[::1]"):
        return scraper
    for name, h in ctx.config.hosts.items():
        if addr in (name, h.address, h.private_address):
            return name
    return None


def monitoring_addresses(ctx: Context) -> dict[str, str]:
    """address -> monitoring host name."""
    names = ctx.config.topology.monitoring_hosts or ctx.config.hosts_with_role("monitoring")
    return {a: n for n in names if (a := host_address(ctx, n))}


def scrape_targets(ctx: Context) -> list[ScrapeTarget]:
    """Static scrape targets of the scrape topology's configs (templated ones left out, as there)."""

    def build() -> list[ScrapeTarget]:
        out = []
        mons = ctx.config.topology.monitoring_hosts or ctx.config.hosts_with_role("monitoring")
        for art, cfg in topology(ctx).configs:  # unparseable configs are reported by TGT002
            scraper = art.host or (mons[0] if mons else None)
            for job in cfg.jobs:
                for t in job.targets:
                    m = re.match(r"^\[?([^\]]+?)\]?:(\d+)$", t.address)
                    if not m:
                        continue
                    addr, port = m.group(1), int(m.group(2))
                    out.append(
                        ScrapeTarget(
                            job.name or "?",
                            host_of_address(ctx, addr, scraper),
                            addr,
                            port,
                            art,
                            t.line,
                            scraper,
                        )
                    )
        return out

    result: list[ScrapeTarget] = ctx.derived("net:scrape_targets", build)
    return result


# -- scrape topology: jobs, the exporters they scrape, the metrics they produce ----------------------


@lru_cache(maxsize=1)
def catalog() -> dict[str, Any]:
    text = resources.files("chom_validate").joinpath("data/metric_catalog.yaml").read_text()
    data = yaml.safe_load(text)
    for exp in data["exporters"].values():
        names = set(exp.get("metrics") or [])
        for h in exp.get("histograms") or []:
            names |= {f"{h}_bucket", f"{h}_sum", f"{h}_count"}
        exp["names"] = names
    data["common_names"] = set(data["common"]["metrics"])
    data["common_globs"] = list(data["common"].get("globs") or [])
    data["retired"] = {str(k): str(v) for k, v in (data.get("retired") or {}).items()}
    data["synthetic_names"] = set(data["synthetic"])
    return data


def retired(metric: str) -> str | None:
    """Why a metric name no longer exists (renamed or removed upstream), or None."""
    for pattern, why in catalog()["retired"].items():
        if fnmatch.fnmatchcase(metric, pattern):
            return why
    return None


def job_exporter(job: ScrapeJob, overrides: dict[str, str]) -> str | None:
    """Which exporter a scrape job scrapes: config override, job-name pattern, then target port."""
    if job.name in overrides:
        return overrides[job.name]
    exporters = catalog()["exporters"]
    for name, exp in exporters.items():
        if any(fnmatch.fnmatchcase(job.name.lower(), p) for p in exp.get("jobs") or []):
            return str(name)
    for name, exp in exporters.items():
        if job.ports & set(exp.get("ports") or []):
            return str(name)
    return None


@dataclass
class Topology:
    configs: list[tuple[Artifact, PromConfig]] = field(default_factory=list)
    jobs: list[tuple[Artifact, ScrapeJob, str | None]] = field(
        default_factory=list
    )  # (config, job, exporter)
    rules: list[tuple[Artifact, RuleFile]] = field(default_factory=list)
    recorded: set[str] = field(default_factory=set)
    job_globs: dict[str, list[str]] = field(default_factory=dict)
    # metrics that scripts write for node_exporter's textfile collector
    textfile: set[str] = field(default_factory=set)

    @property
    def exporters(self) -> set[str]:
        return {e for _, _, e in self.jobs if e}

    def producers(self, metric: str) -> list[str]:
        """Job names producing ``metric`` (catalog, job-name prefix, configured globs).

        A retired name (`node_cpu`, `prometheus_local_storage_*`) is produced by nothing, whatever
        the job's name suggests, unless the configuration says a job exports it.
        """
        cat = catalog()
        out = []
        if retired(metric):
            return [
                j.name
                for _, j, _ in self.jobs
                if any(fnmatch.fnmatchcase(metric, g) for g in self.job_globs.get(j.name, []))
            ]
        for _, job, exp in self.jobs:
            names = cat["exporters"][exp]["names"] if exp in cat["exporters"] else set()
            prefix = re.sub(r"[^a-zA-Z0-9]", "_", job.name).lower() + "_"
            if (
                metric in names
                or (exp == "node" and metric in self.textfile)
                or (exp and metric in cat["common_names"])
                or (exp and any(fnmatch.fnmatchcase(metric, g) for g in cat["common_globs"]))
                or metric.lower().startswith(prefix)
                or any(fnmatch.fnmatchcase(metric, g) for g in self.job_globs.get(job.name, []))
            ):
                out.append(job.name)
        return out

    def exists(self, metric: str) -> bool:
        return (
            metric in catalog()["synthetic_names"] or metric in self.recorded or bool(self.producers(metric))
        )

    def interval_for(self, sel: promql.VectorSelector) -> tuple[float, str] | None:
        """Scrape interval of the job a selector reads (its job matcher, else the producing jobs)."""
        jobs = [j for _, j, _ in self.jobs]
        wanted = [m for m in sel.matchers if m.name == "job"]
        if wanted:
            hit = [j for j in jobs if all(_safe_match(m, j.name) for m in wanted)]
        else:
            names = set()
            for metric in sel.metric_names:
                names |= set(self.producers(metric))
            hit = [j for j in jobs if j.name in names]
        if not hit:
            return None
        j = max(hit, key=lambda j: j.interval)
        return j.interval, j.name


def _safe_match(m: promql.Matcher, value: str) -> bool:
    try:
        return m.matches(value)
    except re.error:
        return False


def topology(ctx: Context) -> Topology:
    def build() -> Topology:
        s = ctx.settings("monitoring")
        overrides = {str(k): str(v) for k, v in (s.get("job_exporters") or {}).items()}
        t = Topology(job_globs={str(k): [str(g) for g in v] for k, v in (s.get("job_metrics") or {}).items()})
        t.configs = [(a, c) for a, c in ctx.parsed("prometheus_config") if not is_templated(a)]
        for a, c in t.configs:
            for job in c.jobs:
                t.jobs.append((a, job, job_exporter(job, overrides)))
        t.rules = ctx.parsed("prometheus_rules")
        t.recorded = {r.name for _, rf in t.rules for r in rf.records}
        t.textfile = textfile_metrics(ctx)
        return t

    result: Topology = ctx.derived("monitoring:topology", build)
    return result


_PROM_TYPE = re.compile(r"#\s*(?:TYPE|HELP)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)")


_PROM_SAMPLE = re.compile(r"""["'\s]([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+\$""")


def textfile_metrics(ctx: Context) -> set[str]:
    """Metric names scripts write into `*.prom` files (node_exporter's textfile collector)."""
    out: set[str] = set()
    for art in ctx.artifacts("shell"):
        if art.embedded or ".prom" not in art.text:
            continue
        out |= set(_PROM_TYPE.findall(art.text))
        for ln in art.lines:
            if ".prom" in ln:
                out |= {m for m in _PROM_SAMPLE.findall(ln) if "_" in m}
    return out


def rule_file_matches(pattern: str, config: Artifact, rule: Artifact) -> bool:
    if rule.embedded and rule.install_path:
        return fnmatch.fnmatchcase(rule.install_path, pattern) or fnmatch.fnmatchcase(
            rule.install_path, posixpath.join("/etc/prometheus", pattern)
        )
    resolved = resolve_rule_pattern(pattern, config.path, config.install_path)
    return fnmatch.fnmatchcase(rule.path, resolved)


def component_present(ctx: Context, pattern: str) -> Artifact | None:
    """An artifact showing the deployment runs a component: a scrape job, unit, site, script or cron line."""
    rx = re.compile(rf"(?<![A-Za-z])({pattern})", re.I)
    kinds = ("prometheus_config", "systemd_unit", "systemd_dropin", "nginx_site", "shell", "cron")
    for art in ctx.artifacts(*kinds):
        if art.kind == "nginx_site" and pattern == "nginx":
            return art
        if rx.search(art.install_path or art.path) or rx.search(art.text):
            return art
    return None


def is_templated(art: Artifact) -> bool:
    """Unknown values: Jinja/`${VAR}` placeholders or a shell-expanded heredoc.

    Go templates (`{{ $labels.instance }}`, `{{ .CommonLabels }}`) are native to rule files and
    Alertmanager configs and do not count.
    """
    if art.embedded or art.meta.get("rendered_from"):  # heredocs, rendered templates: known
        return art.templated
    return bool(UNRENDERED.search(art.text))  # one definition of an unrendered placeholder
