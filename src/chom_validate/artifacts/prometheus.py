"""Prometheus configs and rule files, with line numbers.

``parse_rules`` gives a ``RuleFile`` (groups, recording and alerting rules, the parsed PromQL of
each expression) and ``parse_config`` a ``PromConfig`` (global and per-job intervals, static and
file_sd targets, relabelling, ``rule_files`` patterns, Alertmanager targets). Both collect the
``problems`` that ``promtool check rules`` / ``promtool check config --syntax-only`` reject
(unknown fields, bad durations, bad PromQL, duplicate groups or jobs, invalid label names...) so
checks can report them with the line, without failing the whole parse.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from . import promql
from .base import Artifact, ArtifactParseError, parser
from .discover import Candidate, detector
from .yamlfile import LineDict, artifact_yaml, load_yaml_discovery

LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


@dataclass
class Problem:
    line: int
    message: str


def _seq(value: Any) -> list[Any]:
    """A YAML sequence, or [] when the value is missing or of the wrong type (hostile input)."""
    return value if isinstance(value, list) else []


def _dur(value: Any) -> float | None:
    try:
        return promql.parse_duration(str(value))
    except ValueError:
        return None


# -- detection ----------------------------------------------------------------------------------------

_RULES_TEXT = re.compile(r"^groups\s*:", re.M)
_RULE_KEY = re.compile(r"^[ \t]*(?:-[ \t]*)?(alert|record)[ \t]*:", re.M)  # linear: see discover
# extensions rule files carry besides .yml/.yaml (documents and code that quote a rule are not rule files)
_RULE_EXTS = ("", ".rules", ".rule", ".alerts", ".alert", ".conf")


@detector("prometheus_monitoring", order=25)
def _detect(c: Candidate) -> str | None:
    """Rule files whatever their extension, and Promtail configs that are not Prometheus configs.

    `rule_files` names files such as `alert.rules` (Prometheus reads them as YAML, any name), and
    Promtail's config has Prometheus's `scrape_configs` key but ships logs to Loki (`clients:`),
    scraping no metric.
    """
    d = c.data
    if c.is_yaml and isinstance(d, dict) and "scrape_configs" in d:
        if any(k in d for k in ("clients", "client", "positions")):
            return "promtail_config"
        return None
    if c.is_yaml or c.is_json or posixpath.splitext(c.path)[1].lower() not in _RULE_EXTS:
        return None
    if not (_RULES_TEXT.search(c.text) and _RULE_KEY.search(c.text)):
        return None
    try:
        data = load_yaml_discovery(c.text)  # the C scanner (safe_load is pure Python: 10x slower)
    except ArtifactParseError:
        return None
    groups = data.get("groups") if isinstance(data, dict) else None
    if isinstance(groups, list) and any(isinstance(g, dict) and "rules" in g for g in groups):
        c.data = data  # loaded once: discovery hands it to parse_rules (share_yaml)
        return "prometheus_rules"
    return None


# -- rule files ---------------------------------------------------------------------------------------


@dataclass
class Rule:
    group: str
    name: str  # alert or record name
    kind: str  # "alert" | "record"
    expr: str
    line: int
    for_: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    ast: promql.Node | None = None
    expr_error: str | None = None

    def line_of(self, key: str) -> int:
        return self.raw.line_of(key) if isinstance(self.raw, LineDict) else self.line

    def label_line(self, key: str) -> int:
        labels = self.raw.get("labels") if isinstance(self.raw, dict) else None
        return (
            labels.line_of(key) if isinstance(labels, LineDict) and key in labels else self.line_of("labels")
        )

    def annotation_line(self, key: str) -> int:
        ann = self.raw.get("annotations") if isinstance(self.raw, dict) else None
        return ann.line_of(key) if isinstance(ann, LineDict) and key in ann else self.line_of("annotations")

    @property
    def metrics(self) -> list[str]:
        return promql.metric_names(self.ast) if self.ast is not None else []


@dataclass
class RuleFile:
    groups: list[tuple[str, int]] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    group_intervals: dict[str, float] = field(default_factory=dict)

    @property
    def alerts(self) -> list[Rule]:
        return [r for r in self.rules if r.kind == "alert"]

    @property
    def records(self) -> list[Rule]:
        return [r for r in self.rules if r.kind == "record"]


_RULE_KEYS = {"record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
_GROUP_KEYS = {"name", "interval", "limit", "rules"}
_TEMPLATE_VARS = {"labels", "value", "externalLabels", "externalURL"}
_ACTION = re.compile(r"\{\{(.*?)\}\}", re.S)


def _template_problem(text: str) -> str | None:
    """The Go-template errors promtool reports most often: unclosed actions, undefined variables."""
    if text.count("{{") != len(_ACTION.findall(text)) or "{{" in _ACTION.sub("", text):
        return "unclosed action"
    defined = set(_TEMPLATE_VARS)
    for body in _ACTION.findall(text):
        for m in re.finditer(r"\$(\w+)\s*:?=", body):
            defined.add(m.group(1))
        body_no_str = re.sub(r'"(?:[^"\\]|\\.)*"|`[^`]*`', "", body)
        for m in re.finditer(r"\$(\w+)", body_no_str):
            if m.group(1) not in defined:
                return f'undefined variable "${m.group(1)}"'
        if re.fullmatch(r"\s*-?\s*(if|with|range)\s*-?\s*", body):
            return f"missing value for {body.strip(' -')}"
    return None


@parser("prometheus_rules")
def parse_rules(artifact: Artifact) -> RuleFile:
    data = artifact_yaml(artifact)
    if not isinstance(data, LineDict) or not isinstance(data.get("groups"), list):
        raise ArtifactParseError("rule file must have a top-level `groups:` list", 1)
    rf = RuleFile()
    for key in data:
        if key != "groups":
            rf.problems.append(
                Problem(data.line_of(key), f"field {key} not found in type rulefmt.RuleGroups")
            )
    seen_groups: set[str] = set()
    for g in data["groups"]:
        if not isinstance(g, LineDict):
            raise ArtifactParseError("each group must be a mapping", getattr(data["groups"], "line", 1))
        gname = str(g.get("name") or "")
        rf.groups.append((gname, g.line))
        if not gname:
            rf.problems.append(Problem(g.line, "Groupname must not be empty"))
        elif gname in seen_groups:
            rf.problems.append(Problem(g.line, f'groupname: "{gname}" is repeated in the same file'))
        seen_groups.add(gname)
        for key in g:
            if key not in _GROUP_KEYS:
                rf.problems.append(
                    Problem(g.line_of(key), f"field {key} not found in type rulefmt.RuleGroup")
                )
        if g.get("interval") is not None:
            iv = _dur(g["interval"])
            if iv is None:
                rf.problems.append(
                    Problem(g.line_of("interval"), f"not a valid duration string: {g['interval']!r}")
                )
            else:
                rf.group_intervals[gname] = iv
        rules = _seq(g.get("rules"))
        if not isinstance(rules, list):
            raise ArtifactParseError("`rules:` must be a list", g.line_of("rules"))
        for r in rules:
            if not isinstance(r, LineDict):
                raise ArtifactParseError("each rule must be a mapping", g.line)
            rule = _rule(gname, r, rf.problems)
            if rule is not None:
                rf.rules.append(rule)
    return rf


def _rule(gname: str, r: LineDict, problems: list[Problem]) -> Rule | None:
    def bad(key: str, msg: str) -> None:
        problems.append(Problem(r.line_of(key), f'group "{gname}", rule {name!r}: {msg}'))

    has_alert, has_record = bool(r.get("alert")), bool(r.get("record"))
    kind = "alert" if has_alert else "record" if has_record else ""
    name = str(r.get(kind, "")) if kind else ""
    if not kind:
        raise ArtifactParseError("rule has neither `alert:` nor `record:`", r.line)
    for key in r:
        if key not in _RULE_KEYS:
            bad(key, f"field {key} not found in type rulefmt.RuleNode")
    if has_alert and has_record:
        bad("record", "only one of 'record' and 'alert' must be set")
    labels = r.get("labels") or {}
    annotations = r.get("annotations") or {}
    rule = Rule(
        group=gname,
        name=name,
        kind=kind,
        expr=str(r.get("expr") or ""),
        line=r.line,
        for_=str(r["for"]) if r.get("for") is not None else None,
        labels={str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
        annotations={str(k): str(v) for k, v in annotations.items()} if isinstance(annotations, dict) else {},
        raw=r,
    )
    if not rule.expr.strip():
        bad("expr", "field 'expr' must be set in rule")
    else:
        try:
            rule.ast = promql.parse(rule.expr)
        except promql.PromQLError as exc:
            rule.expr_error = str(exc)
            bad("expr", f"could not parse expression: {exc}")
    for key in ("for", "keep_firing_for"):
        if r.get(key) is not None and _dur(r[key]) is None:
            bad(key, f"not a valid duration string: {r[key]!r}")
    if kind == "record":
        if annotations:
            bad("annotations", "invalid field 'annotations' in recording rule")
        for key in ("for", "keep_firing_for"):
            if r.get(key) is not None and _dur(r[key]) not in (None, 0.0):
                bad(key, f"invalid field '{key}' in recording rule")
        if not METRIC_NAME.match(name):
            bad("record", f"invalid recording rule name: {name}")
    for k in rule.labels:
        if not LABEL_NAME.match(k) or k == "__name__":
            bad("labels", f"invalid label name: {k}")
    for k in rule.annotations:
        if not LABEL_NAME.match(k):
            bad("annotations", f"invalid annotation name: {k}")
    if kind == "alert":
        for where, items in (("label", rule.labels), ("annotation", rule.annotations)):
            for k, v in items.items():
                err = _template_problem(v)
                if err:
                    bad("labels" if where == "label" else "annotations", f'{where} "{k}": template: {err}')
    return rule


# -- prometheus.yml ------------------------------------------------------------------------------------


@dataclass
class ScrapeTarget:
    address: str
    line: int
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def host(self) -> str:
        return self.address.rsplit(":", 1)[0].strip("[]") if ":" in self.address else self.address

    @property
    def port(self) -> int | None:
        tail = self.address.rsplit(":", 1)[-1] if ":" in self.address else ""
        return int(tail) if tail.isdigit() else None


@dataclass
class Relabel:
    action: str
    line: int
    source_labels: list[str] = field(default_factory=list)
    target_label: str | None = None
    regex: str = "(.*)"
    replacement: str = "$1"


@dataclass
class ScrapeJob:
    name: str
    line: int
    interval: float
    interval_text: str
    timeout: float
    metrics_path: str = "/metrics"
    scheme: str = "http"
    targets: list[ScrapeTarget] = field(default_factory=list)
    file_sd: list[tuple[str, int]] = field(default_factory=list)
    other_sd: list[str] = field(default_factory=list)
    relabel_configs: list[Relabel] = field(default_factory=list)
    metric_relabel_configs: list[Relabel] = field(default_factory=list)
    raw: LineDict = field(default_factory=LineDict)

    @property
    def ports(self) -> set[int]:
        return {p for p in (t.port for t in self.targets) if p is not None}


@dataclass
class PromConfig:
    scrape_interval: float = 60.0
    scrape_interval_text: str = "1m"
    evaluation_interval: float = 60.0
    scrape_timeout: float = 10.0
    external_labels: dict[str, str] = field(default_factory=dict)
    jobs: list[ScrapeJob] = field(default_factory=list)
    rule_files: list[tuple[str, int]] = field(default_factory=list)
    rule_files_line: int | None = None
    alertmanagers: list[ScrapeTarget] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    raw: LineDict = field(default_factory=LineDict)

    def job(self, name: str) -> ScrapeJob | None:
        return next((j for j in self.jobs if j.name == name), None)


_TOP_KEYS = {
    "global",
    "alerting",
    "rule_files",
    "scrape_configs",
    "remote_write",
    "remote_read",
    "storage",
    "tracing",
}
_GLOBAL_KEYS = {
    "scrape_interval",
    "scrape_timeout",
    "evaluation_interval",
    "external_labels",
    "query_log_file",
    "body_size_limit",
    "sample_limit",
    "label_limit",
    "label_name_length_limit",
    "label_value_length_limit",
    "target_limit",
}
_HTTP_KEYS = {
    "basic_auth",
    "authorization",
    "oauth2",
    "bearer_token",
    "bearer_token_file",
    "tls_config",
    "proxy_url",
    "no_proxy",
    "proxy_from_environment",
    "proxy_connect_header",
    "follow_redirects",
    "enable_http2",
}
_JOB_KEYS = _HTTP_KEYS | {
    "job_name",
    "honor_labels",
    "honor_timestamps",
    "params",
    "scrape_interval",
    "scrape_timeout",
    "metrics_path",
    "scheme",
    "body_size_limit",
    "sample_limit",
    "target_limit",
    "label_limit",
    "label_name_length_limit",
    "label_value_length_limit",
    "relabel_configs",
    "metric_relabel_configs",
    "static_configs",
}
_AM_KEYS = _HTTP_KEYS | {
    "static_configs",
    "scheme",
    "path_prefix",
    "timeout",
    "api_version",
    "relabel_configs",
    "sigv4",
}
_RELABEL_KEYS = {"source_labels", "separator", "target_label", "regex", "modulus", "replacement", "action"}
_ACTIONS = {
    "replace",
    "keep",
    "drop",
    "hashmod",
    "labelmap",
    "labeldrop",
    "labelkeep",
    "lowercase",
    "uppercase",
    "keepequal",
    "dropequal",
}


def _unknown(d: LineDict, known: set[str], typ: str, out: list[Problem]) -> None:
    for key in d:
        if key not in known and not str(key).endswith("_sd_configs"):
            out.append(Problem(d.line_of(key), f"field {key} not found in type {typ}"))


def _durations(d: LineDict, keys: tuple[str, ...], out: list[Problem]) -> dict[str, float]:
    got = {}
    for key in keys:
        if d.get(key) is not None:
            v = _dur(d[key])
            if v is None:
                out.append(Problem(d.line_of(key), f"not a valid duration string: {d[key]!r}"))
            else:
                got[key] = v
    return got


def _labels(d: Any, line: int, out: list[Problem]) -> dict[str, str]:
    if not isinstance(d, dict):
        return {}
    for k in d:
        if not LABEL_NAME.match(str(k)):
            out.append(
                Problem(d.line_of(k) if isinstance(d, LineDict) else line, f'"{k}" is not a valid label name')
            )
    return {str(k): str(v) for k, v in d.items()}


def _static(items: Any, out: list[Problem], check_hosts: bool = True) -> list[ScrapeTarget]:
    """Static targets; like Prometheus, addresses are only checked when no relabelling may rewrite them."""
    targets = []
    for sc in _seq(items):
        if not isinstance(sc, LineDict):
            continue
        _unknown(sc, {"targets", "labels"}, "targetgroup.Group", out)
        labels = _labels(sc.get("labels"), sc.line, out)
        tl = _seq(sc.get("targets"))
        for i, t in enumerate(tl):
            line = tl.item_lines[i] if hasattr(tl, "item_lines") else sc.line
            if check_hosts and "/" in str(t):
                out.append(Problem(line, f'"{t}" is not a valid hostname'))
            targets.append(ScrapeTarget(str(t), line, labels))
    return targets


def _relabels(items: Any, out: list[Problem]) -> list[Relabel]:
    rels = []
    for rc in _seq(items):
        if not isinstance(rc, LineDict):
            continue
        _unknown(rc, _RELABEL_KEYS, "relabel.Config", out)
        action = str(rc.get("action", "replace")).lower()
        rel = Relabel(
            action=action,
            line=rc.line,
            source_labels=[str(s) for s in _seq(rc.get("source_labels"))],
            target_label=str(rc["target_label"]) if rc.get("target_label") is not None else None,
            regex=str(rc.get("regex", "(.*)")),
            replacement=str(rc.get("replacement", "$1")),
        )
        rels.append(rel)
        if action not in _ACTIONS:
            out.append(Problem(rc.line_of("action"), f'unknown relabel action "{action}"'))
            continue
        try:
            re.compile(rel.regex)
        except re.error as exc:
            out.append(Problem(rc.line_of("regex"), f"error parsing regexp: {exc}"))
        needs_target = action in ("replace", "hashmod", "lowercase", "uppercase", "keepequal", "dropequal")
        if needs_target and not rel.target_label:
            out.append(
                Problem(rc.line, f"relabel configuration for {action} action requires 'target_label' value")
            )
        elif (
            action in ("replace", "hashmod", "lowercase", "uppercase")
            and rel.target_label
            and "$" not in rel.target_label
            and not LABEL_NAME.match(rel.target_label)
        ):
            out.append(
                Problem(
                    rc.line_of("target_label"),
                    f"\"{rel.target_label}\" is invalid 'target_label' for {action} action",
                )
            )
        if action == "hashmod" and not rc.get("modulus"):
            out.append(Problem(rc.line, "relabel configuration for hashmod requires non-zero modulus"))
    return rels


@parser("prometheus_config")
def parse_config(artifact: Artifact) -> PromConfig:
    data = artifact_yaml(artifact)
    if data is None:
        return PromConfig()
    if not isinstance(data, LineDict):
        raise ArtifactParseError("a Prometheus config must be a YAML mapping", 1)
    cfg = PromConfig(raw=data)
    out = cfg.problems
    _unknown(data, _TOP_KEYS, "config.Config", out)
    g = data.get("global") or LineDict()
    if isinstance(g, LineDict):
        _unknown(g, _GLOBAL_KEYS, "config.GlobalConfig", out)
        d = _durations(g, ("scrape_interval", "scrape_timeout", "evaluation_interval"), out)
        cfg.scrape_interval = d.get("scrape_interval", 60.0)
        cfg.scrape_interval_text = str(g.get("scrape_interval", "1m"))
        cfg.evaluation_interval = d.get("evaluation_interval", 60.0)
        cfg.scrape_timeout = d.get("scrape_timeout", min(10.0, cfg.scrape_interval))
        if cfg.scrape_timeout > cfg.scrape_interval:
            out.append(
                Problem(g.line_of("scrape_timeout"), "global scrape timeout greater than scrape interval")
            )
        cfg.external_labels = _labels(g.get("external_labels"), g.line, out)
    rf = _seq(data.get("rule_files"))
    if rf:
        cfg.rule_files_line = data.line_of("rule_files")
        for i, pat in enumerate(rf):
            cfg.rule_files.append(
                (str(pat), rf.item_lines[i] if hasattr(rf, "item_lines") else cfg.rule_files_line)
            )
    alerting = data.get("alerting")
    if isinstance(alerting, LineDict):
        _unknown(alerting, {"alert_relabel_configs", "alertmanagers"}, "config.AlertingConfig", out)
        for am in _seq(alerting.get("alertmanagers")):
            if isinstance(am, LineDict):
                _unknown(am, _AM_KEYS, "config.AlertmanagerConfig", out)
                cfg.alertmanagers.extend(
                    _static(am.get("static_configs"), out, not am.get("relabel_configs"))
                )
    seen: dict[str, int] = {}
    if data.get("scrape_configs") is not None and not isinstance(data.get("scrape_configs"), list):
        out.append(Problem(data.line_of("scrape_configs"), "scrape_configs must be a list"))
    for sc in _seq(data.get("scrape_configs")):
        if not isinstance(sc, LineDict):
            continue
        cfg.jobs.append(_job(sc, cfg, seen, out))
    return cfg


def _job(sc: LineDict, cfg: PromConfig, seen: dict[str, int], out: list[Problem]) -> ScrapeJob:
    _unknown(sc, _JOB_KEYS, "config.ScrapeConfig", out)
    name = str(sc.get("job_name") or "")
    if not name:
        out.append(Problem(sc.line, "job_name is empty"))
    elif name in seen:
        out.append(Problem(sc.line_of("job_name"), f'found multiple scrape configs with job name "{name}"'))
    seen[name] = sc.line
    d = _durations(sc, ("scrape_interval", "scrape_timeout"), out)
    interval = d.get("scrape_interval", cfg.scrape_interval)
    timeout = d.get("scrape_timeout", min(cfg.scrape_timeout, interval))
    if "scrape_timeout" in d and timeout > interval:
        out.append(
            Problem(
                sc.line_of("scrape_timeout"),
                f'scrape timeout greater than scrape interval for scrape config with job name "{name}"',
            )
        )
    job = ScrapeJob(
        name=name,
        line=sc.line_of("job_name"),
        interval=interval,
        interval_text=str(sc.get("scrape_interval", cfg.scrape_interval_text)),
        timeout=timeout,
        metrics_path=str(sc.get("metrics_path", "/metrics")),
        scheme=str(sc.get("scheme", "http")),
        targets=_static(sc.get("static_configs"), out, not sc.get("relabel_configs")),
        relabel_configs=_relabels(sc.get("relabel_configs"), out),
        metric_relabel_configs=_relabels(sc.get("metric_relabel_configs"), out),
        raw=sc,
    )
    for fsd in _seq(sc.get("file_sd_configs")):
        if isinstance(fsd, LineDict):
            _unknown(fsd, {"files", "refresh_interval"}, "file.SDConfig", out)
            for f in _seq(fsd.get("files")):
                if not re.search(r"\.(json|ya?ml)$", posixpath.basename(str(f))):
                    out.append(
                        Problem(fsd.line_of("files"), f'path name "{f}" is not valid for file discovery')
                    )
                job.file_sd.append((str(f), fsd.line_of("files")))
    job.other_sd = [str(k) for k in sc if str(k).endswith("_sd_configs") and k != "file_sd_configs"]
    return job


def resolve_rule_pattern(pattern: str, config_path: str, install_path: str | None = None) -> str:
    """A ``rule_files`` glob as a path relative to the scanned tree.

    Prometheus resolves relative patterns against the config file's directory. Absolute patterns
    under the config's install directory (default ``/etc/prometheus``) map back next to the config.
    """
    base = posixpath.dirname(config_path)
    if not pattern.startswith("/"):
        return posixpath.normpath(posixpath.join(base, pattern))
    inst_dir = posixpath.dirname(install_path) if install_path else "/etc/prometheus"
    if pattern.startswith(inst_dir.rstrip("/") + "/"):
        return posixpath.normpath(posixpath.join(base, pattern[len(inst_dir.rstrip("/")) + 1 :]))
    return pattern.lstrip("/")
