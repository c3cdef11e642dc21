"""Alertmanager configs: route tree, receivers, inhibit rules, with line numbers.

``parse_alertmanager`` collects in ``problems`` what ``amtool check-config`` rejects (undefined or
duplicate receivers, root route without receiver, unknown fields, bad durations and matchers, email
without smarthost/from/to, webhook without URL) so checks can report it at the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .base import Artifact, ArtifactParseError, parser
from .prometheus import Problem, _dur
from .yamlfile import LineDict, artifact_yaml

MATCHER = re.compile(
    r'^\s*\{?\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^"]*?))\s*\}?\s*$'
)


@dataclass
class Route:
    line: int
    receiver: str | None
    raw: LineDict
    group_by: list[str] | None = None
    group_wait: float | None = None
    group_interval: float | None = None
    repeat_interval: float | None = None
    routes: list[Route] = field(default_factory=list)

    def walk(self) -> Iterator[Route]:
        yield self
        for r in self.routes:
            yield from r.walk()

    def line_of(self, key: str) -> int:
        return self.raw.key_lines.get(key, self.line)


@dataclass
class Integration:
    kind: str  # email, webhook, slack...
    line: int
    raw: LineDict


@dataclass
class Receiver:
    name: str
    line: int
    integrations: list[Integration] = field(default_factory=list)


@dataclass
class AlertmanagerConfig:
    route: Route | None = None
    receivers: list[Receiver] = field(default_factory=list)
    inhibit_rules: list[tuple[int, LineDict]] = field(default_factory=list)
    global_: LineDict = field(default_factory=LineDict)
    problems: list[Problem] = field(default_factory=list)
    raw: LineDict = field(default_factory=LineDict)

    def receiver(self, name: str) -> Receiver | None:
        return next((r for r in self.receivers if r.name == name), None)


# Field sets of the current upstream config.go (alertmanager 0.28-0.34: `tracing`, route `labels`,
# `smtp_tls_config`, Jira, Rocket.Chat, Mattermost...). A config is judged against the newest schema:
# a field Alertmanager added recently is not a typo, and which version a tree deploys is rarely known.
_TOP = {
    "global",
    "route",
    "inhibit_rules",
    "receivers",
    "templates",
    "mute_time_intervals",
    "time_intervals",
    "tracing",
    "event_recorder",
}
_GLOBAL = set(
    [
        "resolve_timeout",
        "http_config",
        "jira_api_url",
        "smtp_from",
        "smtp_hello",
        "smtp_smarthost",
        "smtp_auth_username",
        "smtp_auth_password",
        "smtp_auth_password_file",
        "smtp_auth_secret",
        "smtp_auth_secret_file",
        "smtp_auth_identity",
        "smtp_require_tls",
        "smtp_tls_config",
        "smtp_force_implicit_tls",
        "slack_api_url",
        "slack_api_url_file",
        "slack_app_token",
        "slack_app_token_file",
        "slack_app_url",
        "pagerduty_url",
        "opsgenie_api_url",
        "opsgenie_api_key",
        "opsgenie_api_key_file",
        "wechat_api_url",
        "wechat_api_secret",
        "wechat_api_secret_file",
        "wechat_api_corp_id",
        "victorops_api_url",
        "victorops_api_key",
        "victorops_api_key_file",
        "telegram_api_url",
        "telegram_bot_token",
        "telegram_bot_token_file",
        "webex_api_url",
        "rocketchat_api_url",
        "rocketchat_token",
        "rocketchat_token_file",
        "rocketchat_token_id",
        "rocketchat_token_id_file",
        "mattermost_webhook_url",
        "mattermost_webhook_url_file",
    ]
)
_ROUTE = set(
    [
        "receiver",
        "group_by",
        "match",
        "match_re",
        "matchers",
        "mute_time_intervals",
        "active_time_intervals",
        "continue",
        "routes",
        "group_wait",
        "group_interval",
        "repeat_interval",
        "labels",
    ]
)
_INHIBIT = set(
    [
        "name",
        "target_match",
        "target_match_re",
        "target_matchers",
        "source_match",
        "source_match_re",
        "source_matchers",
        "equal",
    ]
)
_RECEIVER_FIELDS = {"name", "labels"}  # besides the *_configs integrations


def _unknown(d: LineDict, known: set[str], out: list[Problem]) -> None:
    for k in d:
        if k not in known:
            out.append(Problem(d.line_of(k), f"field {k} not found in type config.plain"))


def _matchers(d: LineDict, key: str, out: list[Problem]) -> None:
    items = d.get(key) or []
    if not isinstance(items, list):
        return
    for m in items:
        mm = MATCHER.match(str(m))
        if not mm:
            out.append(Problem(d.line_of(key), f"bad matcher format: {m}"))
        elif mm.group(2) in ("=~", "!~"):
            try:
                re.compile(mm.group(3) if mm.group(3) is not None else mm.group(4))
            except re.error as exc:
                out.append(Problem(d.line_of(key), f"error parsing regexp: {exc}"))


def _nil_regex(d: LineDict, key: str, out: list[Problem]) -> None:
    items = d.get(key)
    if isinstance(items, dict):
        for label, value in items.items():
            if value is None:
                out.append(Problem(d.line_of(key), f'invalid regexp value for "{label}"'))


def _route(d: LineDict, out: list[Problem], intervals: set[str], root: bool) -> Route:
    _unknown(d, _ROUTE, out)
    r = Route(line=d.line, receiver=str(d["receiver"]) if d.get("receiver") else None, raw=d)
    if isinstance(d.get("group_by"), list):
        r.group_by = [str(x) for x in d["group_by"]]
    for key in ("group_wait", "group_interval", "repeat_interval"):
        if d.get(key) is not None:
            v = _dur(d[key])
            if v is None:
                out.append(Problem(d.line_of(key), f"not a valid duration string: {str(d[key])!r}"))
            elif v == 0 and key != "group_wait":
                out.append(Problem(d.line_of(key), f"{key} cannot be zero"))
            setattr(r, key, v)
    _nil_regex(d, "match_re", out)
    _matchers(d, "matchers", out)
    if root and (d.get("matchers") or d.get("match") or d.get("match_re")):
        out.append(Problem(d.line, "root route must not have any matchers"))
    for key in ("mute_time_intervals", "active_time_intervals"):
        for name in d.get(key) or []:
            if str(name) not in intervals:
                out.append(Problem(d.line_of(key), f'undefined time interval "{name}" used in route'))
    for sub in d.get("routes") or []:
        if isinstance(sub, LineDict):
            r.routes.append(_route(sub, out, intervals, False))
    return r


@parser("alertmanager_config")
def parse_alertmanager(artifact: Artifact) -> AlertmanagerConfig:
    data = artifact_yaml(artifact)
    if not isinstance(data, LineDict):
        raise ArtifactParseError("an Alertmanager config must be a YAML mapping", 1)
    cfg = AlertmanagerConfig(raw=data)
    out = cfg.problems
    _unknown(data, _TOP, out)
    g = data.get("global")
    if isinstance(g, LineDict):
        cfg.global_ = g
        _unknown(g, _GLOBAL, out)
        for key in (
            "smtp_auth_password",
            "smtp_auth_secret",
            "slack_api_url",
            "slack_app_token",
            "opsgenie_api_key",
            "victorops_api_key",
            "wechat_api_secret",
            "telegram_bot_token",
            "rocketchat_token",
            "rocketchat_token_id",
            "mattermost_webhook_url",
        ):
            if g.get(key) and g.get(key + "_file"):
                out.append(Problem(g.line_of(key), f"at most one of {key} & {key}_file must be configured"))
        if g.get("resolve_timeout") is not None and _dur(g["resolve_timeout"]) is None:
            out.append(
                Problem(
                    g.line_of("resolve_timeout"), f"not a valid duration string: {g['resolve_timeout']!r}"
                )
            )
    intervals = {
        str(t.get("name"))
        for key in ("mute_time_intervals", "time_intervals")
        for t in data.get(key) or []
        if isinstance(t, dict)
    }
    seen: set[str] = set()
    for rd in data.get("receivers") or []:
        if not isinstance(rd, LineDict):
            continue
        name = str(rd.get("name") or "")
        if not name:
            out.append(Problem(rd.line, "missing name in receiver"))
            continue
        if name in seen:
            out.append(Problem(rd.line_of("name"), f'notification config name "{name}" is not unique'))
        seen.add(name)
        rec = Receiver(name=name, line=rd.line_of("name"))
        for key, items in rd.items():
            if key in _RECEIVER_FIELDS:
                continue
            if not str(key).endswith("_configs"):
                out.append(Problem(rd.line_of(key), f"field {key} not found in type config.plain"))
                continue
            for item in items or []:
                if isinstance(item, LineDict):
                    rec.integrations.append(Integration(str(key)[: -len("_configs")], item.line, item))
        cfg.receivers.append(rec)
        _integrations(rec, cfg.global_, out)
    rd = data.get("route")
    if isinstance(rd, LineDict):
        cfg.route = _route(rd, out, intervals, True)
        cfg.route.line = data.line_of("route")
        if not cfg.route.receiver:
            out.append(Problem(rd.line, "root route must specify a default receiver"))
        for r in cfg.route.walk():
            if r.receiver and r.receiver not in seen:
                out.append(Problem(r.line_of("receiver"), f'undefined receiver "{r.receiver}" used in route'))
    else:
        out.append(Problem(1, "no routes provided"))
    for ir in data.get("inhibit_rules") or []:
        if isinstance(ir, LineDict):
            _unknown(ir, _INHIBIT, out)
            _nil_regex(ir, "source_match_re", out)
            _nil_regex(ir, "target_match_re", out)
            _matchers(ir, "source_matchers", out)
            _matchers(ir, "target_matchers", out)
            cfg.inhibit_rules.append((ir.line, ir))
    return cfg


# integration -> (its own keys, the global keys that may supply the value instead, amtool's message)
_REQUIRED: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "slack": (
        ("api_url", "api_url_file", "app_token", "app_token_file"),
        ("slack_api_url", "slack_api_url_file", "slack_app_token", "slack_app_token_file"),
        "no global Slack API URL set either inline or in a file",
    ),
    "opsgenie": (
        ("api_key", "api_key_file"),
        ("opsgenie_api_key", "opsgenie_api_key_file"),
        "no global OpsGenie API Key set either inline or in a file",
    ),
    "victorops": (
        ("api_key", "api_key_file"),
        ("victorops_api_key", "victorops_api_key_file"),
        "no global VictorOps API Key set",
    ),
    "wechat": (
        ("api_secret", "api_secret_file"),
        ("wechat_api_secret", "wechat_api_secret_file"),
        "no global Wechat ApiSecret set",
    ),
    "telegram": (
        ("bot_token", "bot_token_file"),
        ("telegram_bot_token", "telegram_bot_token_file"),
        "missing bot_token on telegram_config",
    ),
    "sns": (
        ("target_arn", "topic_arn", "phone_number"),
        (),
        "must provide either a Target ARN, Topic ARN, or Phone Number for SNS config",
    ),
}
# secrets Alertmanager accepts inline or from a file, never both
_EXCLUSIVE = (
    "api_url",
    "api_key",
    "api_secret",
    "bot_token",
    "token",
    "token_id",
    "webhook_url",
    "app_token",
    "url",
)


def _exclusive(d: LineDict, out: list[Problem], prefix: str = "") -> None:
    for key in _EXCLUSIVE:
        k = prefix + key
        if d.get(k) and d.get(k + "_file"):
            out.append(Problem(d.line_of(k), f"at most one of {k} & {k}_file must be configured"))


def _integrations(rec: Receiver, g: dict[str, Any], out: list[Problem]) -> None:
    for it in rec.integrations:
        d = it.raw
        _exclusive(d, out)
        need = _REQUIRED.get(it.kind)
        if need and not any(d.get(k) for k in need[0]) and not any(g.get(k) for k in need[1]):
            out.append(Problem(it.line, need[2]))
        if it.kind == "email":
            if not d.get("to"):
                out.append(Problem(it.line, "missing to address in email config"))
            elif not (d.get("smarthost") or g.get("smtp_smarthost")):
                out.append(Problem(it.line, "no global SMTP smarthost set"))
            elif not (d.get("from") or g.get("smtp_from")):
                out.append(Problem(it.line, "no global SMTP from set"))
        elif it.kind == "webhook":
            url = d.get("url")
            if not url:
                out.append(Problem(it.line, "missing URL in webhook config"))
            elif not re.match(r"^https?://", str(url)):
                out.append(
                    Problem(
                        d.line_of("url"),
                        f'unsupported scheme "{str(url).split("://")[0] if "://" in str(url) else ""}" for URL',
                    )
                )
