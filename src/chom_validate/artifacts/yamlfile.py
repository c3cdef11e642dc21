"""YAML loading that keeps line numbers, for configs whose findings must point at a line.

``load_yaml(text)`` returns plain Python data where every mapping is a ``LineDict`` (``.line`` of
the mapping, ``.key_lines[key]`` of each key) and every sequence a ``LineList`` (``.line``,
``.item_lines``). Errors become ``ArtifactParseError`` with the line from PyYAML's mark.
"""

from __future__ import annotations

from typing import Any

import yaml

from .base import ArtifactParseError

try:  # the C loader is ~10x faster; fall back to pure Python where libyaml is missing
    from yaml import CSafeLoader as _FastLoader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _FastLoader  # type: ignore[assignment]


class LineDict(dict):  # type: ignore[type-arg]
    line: int = 0
    key_lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):  # type: ignore[type-arg]
    line: int = 0
    item_lines: list[int]


class _LineLoader(_FastLoader):  # C scanner/parser, Python constructors that keep marks
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    d = LineDict()
    d.line = node.start_mark.line + 1
    d.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            key = str(key)
        d[key] = loader.construct_object(value_node, deep=True)
        d.key_lines[key] = key_node.start_mark.line + 1
    return d


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    lst = LineList(loader.construct_object(n, deep=True) for n in node.value)
    lst.line = node.start_mark.line + 1
    lst.item_lines = [n.start_mark.line + 1 for n in node.value]
    return lst


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)  # type: ignore[arg-type]
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)  # type: ignore[arg-type]


class _TolerantFastLoader(_FastLoader):  # discovery: local tags (`!vault`, `!Ref`) are not errors
    pass


def _construct_local_tag(loader: Any, suffix: str, node: yaml.Node) -> Any:
    """Application tags (Ansible `!vault`, CloudFormation `!Ref`): keep the plain value, drop the tag."""
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


for _cls in (_LineLoader, _TolerantFastLoader):
    yaml.add_multi_constructor("!", _construct_local_tag, Loader=_cls)


def _error(exc: yaml.YAMLError) -> ArtifactParseError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return ArtifactParseError(f"invalid YAML: {problem}", line)


class YamlDocuments(LineList):
    """The documents of a multi-document stream (`---` separated, e.g. Kubernetes manifests)."""


# Alias bombs ("billion laughs", merge-key doubling): a few hundred bytes whose aliases expand to
# billions of nodes. PyYAML shares aliased objects, so loading is cheap, but every consumer that
# walks the data (checks, redaction, JSON output) pays the expanded size. Refuse documents whose
# expansion is far beyond their own size; real anchors (compose `x-defaults`, `<<: *base`) expand
# a few times at most.
MAX_EXPANDED_NODES = 200_000
MAX_EXPANSION_RATIO = 20


def _expanded_size(root: yaml.Node, limit: int) -> tuple[int, int]:
    """(nodes once every alias is expanded, capped just above ``limit``; distinct nodes). Iterative."""
    memo: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in memo and not done:
            continue
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        if done:
            memo[key] = min(limit + 1, 1 + sum(memo.get(id(c), 1) for c in children))
            continue
        memo[key] = 1  # provisional: a recursive alias (`&a [*a]`) counts once
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in memo)
    return memo[id(root)], len(memo)


def _check_expansion(node: yaml.Node) -> None:
    expanded, distinct = _expanded_size(node, MAX_EXPANDED_NODES * MAX_EXPANSION_RATIO)
    if expanded > max(MAX_EXPANDED_NODES, MAX_EXPANSION_RATIO * distinct):
        raise ArtifactParseError(
            f"YAML aliases expand {distinct} nodes to more than {MAX_EXPANDED_NODES} "
            "(an alias bomb); not analysed",
            node.start_mark.line + 1,
        )


def _load(text: str, loader: Any) -> Any:
    """One document -> its data; several (`---`) -> ``YamlDocuments`` of them: valid YAML either way."""
    has_anchor = "&" in text
    try:
        ldr = loader(text)
        try:
            docs: list[Any] = []
            while ldr.check_node():
                node = ldr.get_node()
                if node is None:
                    continue
                if has_anchor:  # an alias needs an anchor (`&name`): without one nothing expands
                    _check_expansion(node)
                data = ldr.construct_document(node)
                if data is not None:
                    docs.append(data)
        finally:
            ldr.dispose()
        if len(docs) <= 1:
            return docs[0] if docs else None
        out = YamlDocuments(docs)
        out.line = 1
        out.item_lines = []
        return out
    except yaml.YAMLError as exc:
        raise _error(exc) from exc
    except RecursionError as exc:
        raise ArtifactParseError("YAML nesting too deep") from exc


def load_yaml_safe(text: str) -> Any:
    """Plain ``safe_load`` semantics (no line numbers, unknown tags are errors), bounded the same way."""
    return _load(text, _FastLoader)


def load_yaml(text: str) -> Any:
    """Parse with line numbers (slower; use for artifacts whose findings cite lines)."""
    return _load(text, _LineLoader)


def load_yaml_fast(text: str) -> Any:
    """Parse without line numbers (discovery by content)."""
    return _load(text, _TolerantFastLoader)


def load_yaml_discovery(text: str) -> Any:
    """Discovery by content: the data with line numbers when it loads so (as fast as without: the
    cost is in the C scanner), so the parsers of the kinds detected can keep it instead of loading
    the file a second time (``artifact_yaml``); else the tolerant loader's data (a recursive alias,
    ``&a [*a]``, constructs only lazily) or its error."""
    try:
        return load_yaml(text)
    except ArtifactParseError:
        return load_yaml_fast(text)


# Kinds whose parser reads the YAML with line numbers: discovery hands them the data it loaded.
SHARED_YAML_KINDS = frozenset(
    {"prometheus_rules", "prometheus_config", "alertmanager_config", "grafana_datasources", "grafana_dashboard_provider"}
)
_SHARED_KEY = "yaml_data"


def share_yaml(artifact: Any, kind: str, data: Any) -> None:
    """Keep discovery's line-numbered ``data`` for ``artifact``'s parser (only for the kinds whose
    parser uses it, and only data with line numbers)."""
    if kind in SHARED_YAML_KINDS and isinstance(data, LineDict | LineList):
        artifact.meta[_SHARED_KEY] = (artifact.text, data)


def artifact_yaml(artifact: Any) -> Any:
    """The artifact's YAML with line numbers: the data discovery loaded (handed over once: the parser's
    model holds it from then on), else loaded now."""
    shared = artifact.meta.pop(_SHARED_KEY, None)
    if shared is not None:
        text, data = shared
        # only for the text it was loaded from: an artifact derived from this one (a rendered
        # template) copies its meta but parses its own text
        if text is artifact.text or text == artifact.text:
            return data
    return load_yaml(artifact.text)
