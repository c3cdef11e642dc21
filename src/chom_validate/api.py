"""What a check sees: the context protocol, the run options, probe results and typed inputs.

Checks import this module (with ``findings``, ``artifacts``, ``facts`` and ``registry``), never the
engine or a target. The engine's ``ScanContext`` implements :class:`Context`; everything a check
reads from the host was collected or probed by the engine before the checks ran:

- **command outputs** of the allow-listed argv the enabled checks declare (``@check(commands=)``),
  run once per host while the target is prepared (``Context.command``);
- **HTTP probes** a check plans from its inputs (``@check(http=planner)``), fetched by the engine in
  parallel before the checks (``Context.http``);
- **background probes** such as ShellCheck (``@check(needs=["shellcheck"])``), started when the
  scan starts and read through ``Context.probe``;
- the **collected tree** itself (``Context.files``, ``stat``, ``read_text``): in memory on SSH and
  snapshot targets.

Secret values a check sees are handed to the redactor with ``remember_secret`` (masked in every
output); ``looks_like_placeholder`` is the redactor's own test for placeholder values.

Typed inputs work like pytest fixtures: a check parameter annotated with a type that has a
provider (``@provides(T)``) is built once per target and passed in; an empty input answers
``not_applicable`` with the input's own reason (``empty_reason``), and an input marked
``live_only`` skips the check on trees. A check whose one parameter is the plain context
(``def my_check(ctx)``) keeps working: the signature third-party checks rely on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from .redact import looks_like_placeholder
from .redact import remember as remember_secret
from .targets.base import CommandResult, FileEntry, TargetProblem

if TYPE_CHECKING:
    from .artifacts import Artifact, ArtifactIndex
    from .config import Config

__all__ = [
    "CommandResult",
    "Context",
    "FileEntry",
    "HttpGet",
    "HttpResponse",
    "Provider",
    "RunOptions",
    "TargetProblem",
    "looks_like_placeholder",
    "provider_for",
    "provides",
    "remember_secret",
]


@dataclass
class RunOptions:
    profile: str = "hardened"
    categories: list[str] = field(default_factory=list)
    only: list[str] = field(default_factory=list)
    jobs: int = 4
    use_waivers: bool = True
    now: dt.datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # --prometheus-url, --probe-http, ...


# -- HTTP probes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpGet:
    """One GET a check wants answered before it runs (planned by ``@check(http=planner)``)."""

    url: str
    timeout: float = 5.0
    accept: str | None = None  # Accept header; None sends only the User-Agent


@dataclass(frozen=True)
class HttpResponse:
    """What the engine's HTTP probe got: a status (2xx-5xx) with the body, or the failure."""

    request: HttpGet
    status: int | None = None  # also set for an HTTP error answer (404, 500...)
    body: bytes = b""  # the body of a 2xx answer
    error: str | None = None  # str() of the failure (HTTP error answers included)
    error_type: str | None = None  # the failure's class name (URLError, TimeoutError...)
    reason: str | None = None  # the failure's reason (URLError.reason) or its text

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300

    @property
    def detail(self) -> str:
        """``HTTP 404`` for an answer, ``URLError: [Errno 111] Connection refused`` for a failure."""
        if self.status is not None:
            return f"HTTP {self.status}"
        return f"{self.error_type}: {self.reason}"


HttpPlanner = Callable[["Context"], list[HttpGet]]


# -- the context -------------------------------------------------------------------------------------


@runtime_checkable
class Context(Protocol):
    """One target as a check sees it (implemented by the engine's ScanContext)."""

    config: Config
    index: ArtifactIndex
    options: RunOptions

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...  # local | ssh | snapshot
    @property
    def capabilities(self) -> frozenset[str]: ...  # files, commands, live
    @property
    def live(self) -> bool: ...
    @property
    def now(self) -> dt.datetime: ...
    @property
    def fleet(self) -> Mapping[str, Context]: ...
    @property
    def problems(self) -> list[TargetProblem]: ...  # what the target could not read safely

    def artifacts(self, *kinds: str, host: str | None = None) -> list[Artifact]: ...
    def parsed(self, *kinds: str) -> list[tuple[Artifact, Any]]: ...
    def derived(self, key: Any, build: Callable[[], Any]) -> Any: ...
    def settings(self, domain: str) -> dict[str, Any]: ...

    # probe results, all collected before the checks run
    def command(self, argv: list[str] | tuple[str, ...]) -> CommandResult: ...
    def commands(self) -> Mapping[tuple[str, ...], CommandResult]: ...  # every collected output
    def http(self, request: HttpGet) -> HttpResponse: ...
    def probe(self, name: str) -> Any: ...

    # the collected tree (read-only, in memory on SSH hosts and snapshots)
    def files(self) -> Iterator[FileEntry]: ...
    def stat(self, path: str) -> FileEntry | None: ...
    def read_text(self, path: str) -> str | None: ...  # None: not collected, binary or not UTF-8


# -- typed inputs ------------------------------------------------------------------------------------

T = TypeVar("T")


@dataclass(frozen=True)
class Provider:
    """How the engine builds one input type for a check (memoised per target)."""

    type: type
    build: Callable[[Context], Any]
    live_only: bool = False  # on a tree (no commands) the check is not applicable
    commands: tuple[tuple[str, ...], ...] = ()  # allow-listed argv the input reads (collected up front)
    needs: tuple[str, ...] = ()  # background probes the input reads
    not_live_reason: str = "not a live target (repository or tree): no running state to compare"


_PROVIDERS: dict[type, Provider] = {}


def provides(
    typ: type[T],
    *,
    live_only: bool = False,
    commands: list[list[str]] | tuple[tuple[str, ...], ...] = (),
    needs: list[str] | tuple[str, ...] = (),
) -> Callable[[Callable[[Context], T]], Callable[[Context], T]]:
    """Register the builder of input type ``typ`` (one per type; the last registration wins).

    An input whose value is falsy (an empty collection) makes the check answer ``not_applicable``
    with the value's ``empty_reason`` attribute. ``commands``/``needs`` are added to every check
    that takes the input, so they are collected or started before the checks run.
    """

    def deco(build: Callable[[Context], T]) -> Callable[[Context], T]:
        _PROVIDERS[typ] = Provider(typ, build, live_only, tuple(tuple(c) for c in commands), tuple(needs))
        return build

    return deco


def provider_for(typ: Any) -> Provider | None:
    if not isinstance(typ, type):
        return None
    _load_builtin_providers()
    return _PROVIDERS.get(typ)


_LOADED = False


def _load_builtin_providers() -> None:
    global _LOADED
    if not _LOADED:
        _LOADED = True
        from .facts import inputs  # noqa: F401  (registers the built-in providers)
