"""Human attestations (``attestations.yaml``): role, name, date, statement.

Attestations are what people promise; they are rendered apart from machine-verified results and
never affect the score or the gate. A required role with no attestation shows as PENDING: the tool
never signs for anyone. Required roles come from the file (``required_roles``), else from
``reports.required_attestations`` in chom-validate.yaml, else from the seed certificate's roles.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ATTESTATIONS_FILE = "attestations.yaml"

# Seed 001 (confidence certificate) sign-off roles.
DEFAULT_REQUIRED_ROLES: dict[str, str] = {
    "code-quality": "Lead Developer",
    "security": "Security Lead",
    "infrastructure": "DevOps / Infrastructure Lead",
    "quality-assurance": "QA Lead",
    "operations": "Operations Manager",
    "risk-acceptance": "Engineering Manager / CTO",
}


class AttestationError(Exception):
    """attestations.yaml is unreadable or invalid; the message names the file, line and key."""


class Attestation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str = Field(min_length=1, description="Role key, e.g. security")
    name: str = Field(min_length=1, description="Who attests (a person, never the tool)")
    title: str | None = None
    date: dt.date
    statement: str = Field(min_length=3, description="What exactly this person attests")

    @field_validator("role")
    @classmethod
    def _role(cls, v: str) -> str:
        return v.strip().lower()


class AttestationFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    required_roles: dict[str, str] | None = Field(None, description="role key -> title of who must attest")
    attestations: list[Attestation] = Field(default_factory=list)


class AttestationView(BaseModel):
    role: str
    title: str
    status: str  # ATTESTED, PENDING, FUTURE-DATED
    name: str | None = None
    date: str | None = None
    statement: str | None = None
    required: bool = True


def load_attestations(path: Path) -> AttestationFile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AttestationError(f"{path}: cannot read attestations: {exc.strerror or exc}") from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise AttestationError(f"{path}{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict):
        raise AttestationError(f"{path}:1: expected a mapping with `attestations:`")
    try:
        return AttestationFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        line = _line_of(node, err["loc"]) if node is not None else 1
        raise AttestationError(f"{path}:{line}: {'.'.join(loc)}: {err['msg']}") from exc


def _line_of(node: yaml.Node, loc: tuple[Any, ...]) -> int:
    line = node.start_mark.line + 1
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if k.value == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            nxt = node.value[key]
        else:
            nxt = None
        if nxt is None:
            break
        node = nxt
        line = node.start_mark.line + 1
    return line


def required_roles(file: AttestationFile | None, settings: dict[str, Any] | None) -> dict[str, str]:
    if file is not None and file.required_roles is not None:
        return {k.lower(): v for k, v in file.required_roles.items()}
    configured = (settings or {}).get("required_attestations")
    if isinstance(configured, dict):
        return {str(k).lower(): str(v) for k, v in configured.items()}
    if isinstance(configured, list):
        return {str(k).lower(): DEFAULT_REQUIRED_ROLES.get(str(k).lower(), str(k)) for k in configured}
    return dict(DEFAULT_REQUIRED_ROLES)


def attestation_views(
    file: AttestationFile | None, settings: dict[str, Any] | None, today: dt.date
) -> list[AttestationView]:
    """One row per required role (PENDING when nobody attested), then any extra attestations."""
    roles = required_roles(file, settings)
    given = {a.role: a for a in (file.attestations if file else [])}
    views = []
    for role, title in roles.items():
        a = given.get(role)
        views.append(_view(role, a.title or title if a else title, a, today, required=True))
    for role, a in given.items():
        if role not in roles:
            views.append(_view(role, a.title or role, a, today, required=False))
    return views


def _view(role: str, title: str, a: Attestation | None, today: dt.date, required: bool) -> AttestationView:
    if a is None:
        return AttestationView(role=role, title=title, status="PENDING", required=required)
    status = "FUTURE-DATED" if a.date > today else "ATTESTED"
    return AttestationView(
        role=role,
        title=title,
        status=status,
        name=a.name,
        date=a.date.isoformat(),
        statement=a.statement,
        required=required,
    )


def find_attestations(explicit: Path | None, *candidates: Path | None) -> Path | None:
    """``--attestations FILE`` or ``attestations.yaml`` beside the config / in the scanned tree."""
    if explicit is not None:
        return explicit
    for c in candidates:
        if c is None:
            continue
        p = (c if c.is_dir() else c.parent) / ATTESTATIONS_FILE
        if p.is_file():
            return p
    return None
