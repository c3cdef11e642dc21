"""tree-sitter-bash layer of the shell parser (optional dependency, imported lazily).

Replaces the line-level commands, functions and assignments of a ``ShellScript`` with the ones a
real parse finds, keeping the line-level ones for lines inside tree-sitter ``ERROR`` regions (and
saying so in ``script.warnings``).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from .shell import Command, ShellScript, find_heredocs, strip_comment

_COND_PARENTS = {"if_statement", "while_statement", "elif_clause"}
_SKIP_ARG = {"file_redirect", "heredoc_redirect", "herestring_redirect", "variable_assignment"}


@lru_cache(maxsize=1)
def _parser() -> Any:
    import tree_sitter
    import tree_sitter_bash

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_bash.language()))


def _unquote(text: str) -> str:
    if not any(c in text for c in "'\"\\"):
        return text
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" and text[0] not in text[1:-1]:
        return text[1:-1]
    try:
        parts = shlex.split(text)
    except ValueError:
        return text
    return parts[0] if len(parts) == 1 else text


def _text(node: Any) -> str:
    return node.text.decode("utf-8", "replace") if node.text is not None else ""


_STATEMENT_WRAPPERS = ("pipeline", "list", "redirected_statement", "negated_command")
_GUARD_PARENTS = {"if_statement", "list", "case_item", "negated_command"}
_UNCONDITIONAL_PARENTS = {"do_group", "case_item", "else_clause", "subshell"}
_CONTEXT_LABEL = {
    "negated_command": "negated",
    "command_substitution": "cmdsubst",
    "process_substitution": "procsubst",
    "subshell": "subshell",
}

# Where a node runs is derived top-down, one step per parent-child edge, while the tree is walked:
# tree-sitter finds a node's parent (and next sibling) by descending from the root, so walking up
# from every command cost O(depth^2) each, and listing a 5000-stage pipeline's children once per
# stage was quadratic too. Each stack entry carries, for its node:
#   cond   bool: inside an if/while condition, a `&&`/`||` list or negated, up to the enclosing
#          program, compound statement or function (its failure does not stop the script)
#   guard  bool: inside an if, a `&&`/`||` list, a case arm or negated, up to the enclosing function
#   ctx    contexts, innermost first, up to the function body, as a linked list
#          ``(labels, outer) | None`` (materialised only for commands)
#   stmt   the statement holding it (climbing pipelines, lists, redirections and negations);
#          None when that is the node itself
_Ctx = tuple[tuple[str, ...], Any] | None
_SPECIAL_PARENTS = {
    "program",
    "compound_statement",
    "function_definition",
    "list",
    "pipeline",
    "if_statement",
    "while_statement",
    "elif_clause",
    *_UNCONDITIONAL_PARENTS,
    *_CONTEXT_LABEL,
}


def _materialise(ctx: _Ctx) -> tuple[str, ...]:
    out: list[str] = []
    while ctx is not None:
        out += ctx[0]
        ctx = ctx[1]
    return tuple(out)


def _child_states(
    node: Any, children: list[Any], cond: bool, guard: bool, ctx: _Ctx, stmt: Any
) -> list[tuple[bool, bool, _Ctx, Any]]:
    """(cond, guard, ctx, stmt) of each child of ``node``, in order, from ``node``'s own."""
    t = node.type
    n = len(children)
    types = [c.type for c in children]
    child_guard = False if t == "function_definition" else (t in _GUARD_PARENTS or guard)
    wrapper = t in _STATEMENT_WRAPPERS
    if wrapper and stmt is None:
        stmt = node
    if t not in _SPECIAL_PARENTS and "&" not in types:  # most nodes: the children inherit all
        return [(cond, child_guard, ctx, stmt if wrapper else None)] * n
    # conditional: decided at this parent, or inherited from it
    decided: list[bool] | None = None
    if t in ("program", "compound_statement", "function_definition") or t in _UNCONDITIONAL_PARENTS:
        decided = [False] * n
    elif t in ("list", "negated_command"):
        decided = [True] * n
    before_body = n
    if t in ("if_statement", "while_statement", "elif_clause"):
        # the condition part: before `then` (conditional) / before `then` or the loop body (context)
        before_then = types.index("then") if "then" in types else n
        before_body = min(before_then, types.index("do_group") if "do_group" in types else n)
        cnode = node.child_by_field_name("condition")
        lo, hi = (cnode.start_byte, cnode.end_byte) if cnode is not None else (0, -1)
        decided = [k < before_then or lo <= children[k].start_byte < hi for k in range(n)]
    else:
        before_body = -1
    if t == "pipeline":
        last_named = max((k for k in range(n) if children[k].is_named), default=-1)
        fixed: tuple[str, ...] | None = None
    elif t == "list":
        last_named = -1
        fixed = None
        has_ops = "&&" in types or "||" in types
    else:
        last_named = -1
        fixed = (_CONTEXT_LABEL[t],) if t in _CONTEXT_LABEL else ()
    out = []
    for k in range(n):
        amp = k + 1 < n and types[k + 1] == "&"
        if t == "function_definition":
            cctx: _Ctx = None
        elif t == "program":
            cctx = (("background",), None) if amp else None
        else:
            if t == "list":
                labels: tuple[str, ...] = ("andor_last",) if k == n - 1 and has_ops else ("andor",)
            elif t == "pipeline":
                labels = ("pipeline_last",) if k == last_named else ("pipeline",)
            elif k < before_body:
                labels = ("condition",)
            else:
                labels = fixed or ()
            if not wrapper and amp and types[k] != "command_name":
                labels += ("background",)
            cctx = (labels, ctx) if labels else ctx
        out.append(
            (
                decided[k] if decided is not None else cond,
                child_guard,
                cctx,
                stmt if wrapper else None,
            )
        )
    return out


# Longest `Command.logical` kept whole (real logical lines are far shorter; see parse).
LOGICAL_MAX = 4096


def _flat(text: str) -> str:
    """One logical line: backslash-newline continuations joined, whitespace collapsed."""
    return " ".join(text.replace("\\\n", " ").split())


def parse(text: str, shell: str, line_level: Callable[[str, str], ShellScript]) -> ShellScript:
    """Parse with tree-sitter; ``line_level`` runs only when a region fails to parse."""
    tree = _parser().parse(text.encode("utf-8"))
    lines = text.splitlines()
    script = ShellScript(shell=shell, lines=lines)
    script.heredocs = find_heredocs(lines)
    for h in script.heredocs:
        script.heredoc_lines.update(range(h.body_start, h.body_end + 2))
    commands: list[Command] = []
    functions: dict[str, tuple[int, int]] = {}
    assignments: list[tuple[str, str, int]] = []
    error_lines: set[int] = set()

    stripped: dict[int, str] = {}

    def logical(start: int, end: int, stmt_node: Any, cmd_node: Any) -> str:
        out = []
        for i in range(start, min(end, len(lines)) + 1):
            if i in script.heredoc_lines:
                continue
            if i not in stripped:
                stripped[i] = strip_comment(lines[i - 1]).strip()
            out.append(stripped[i])
        text = " ".join(out)
        if len(text) <= LOGICAL_MAX:
            return text
        # A huge line (a minified one-line script): every command on it would carry the whole file,
        # and each check that looks at `logical` would scan it once per command (quadratic). The
        # statement holding the command (its pipeline / and-or list) is what `logical` is for; when
        # even that is huge, the command itself.
        own = _flat(_text(stmt_node))
        return own if len(own) <= LOGICAL_MAX else _flat(_text(cmd_node))[:LOGICAL_MAX]

    root = tree.root_node
    stack: list[tuple[Any, str | None, Any, bool, bool, _Ctx, Any]] = [
        (root, None, None, False, False, None, None)
    ]
    while stack:
        node, func, parent, cond, guard, ctx, stmt = stack.pop()
        t = node.type
        if t == "ERROR" or node.is_missing:
            a, b = node.start_point[0] + 1, node.end_point[0] + 1
            error_lines.update(range(a, b + 1))
            continue
        if t == "heredoc_body":
            continue
        if t == "function_definition":
            name_node = node.child_by_field_name("name")
            func = _text(name_node) if name_node is not None else func
            if func:
                functions[func] = (node.start_point[0] + 1, node.end_point[0] + 1)
        elif t == "variable_assignment":
            name_node = node.child_by_field_name("name")
            value_node = node.child_by_field_name("value")
            if name_node is not None:
                name = _text(name_node).split("[", 1)[0]
                assignments.append((name, _text(value_node) if value_node else "", node.start_point[0] + 1))
        elif t == "test_command":
            # `[ ... ]` / `[[ ... ]]`: emitted as a command named `[`/`[[` with its tokens as words
            toks = _text(node).split()
            start, end = node.start_point[0] + 1, node.end_point[0] + 1
            if toks:
                commands.append(
                    Command(
                        start,
                        end,
                        _flat(_text(node)),
                        [_unquote(w) for w in toks],
                        func,
                        logical=logical(start, min(end, start + 30), node, node),
                        conditional=cond,
                        guarded=guard,
                        contexts=_materialise(ctx),
                    )
                )
        elif t in ("command", "declaration_command", "unset_command"):
            words: list[str] = []
            redirects: list[tuple[str, str]] = []
            for c in node.children:
                if c.type in _SKIP_ARG and not (t != "command" and c.type == "variable_assignment"):
                    continue
                if (
                    c.type == "command_name"
                    or c.is_named
                    or c.type in ("local", "export", "declare", "readonly")
                ):
                    words.append(_unquote(_text(c)))
            holder = parent
            if (
                parent is not None
                and parent.type == "pipeline"
                and parent.parent is not None
                and parent.parent.type == "redirected_statement"
                and parent.named_children
                and parent.named_children[-1] == node
            ):
                # `a | gzip > f`: tree-sitter hangs the redirection on the pipeline, bash applies it
                # to the pipeline's last command
                holder = parent.parent
            if holder is not None and holder.type == "redirected_statement":
                for c in holder.children:
                    if c.type == "file_redirect":
                        op = next((_text(x) for x in c.children if not x.is_named), ">")
                        dest = c.child_by_field_name("destination") or (c.named_children or [None])[-1]
                        if dest is not None:
                            redirects.append((op, _unquote(_text(dest))))
            start, end = node.start_point[0] + 1, node.end_point[0] + 1
            # a statement spanning continuation lines: the logical text covers all of them
            if stmt is None:
                stmt = node
            s_end = stmt.end_point[0] + 1
            if t == "command" or words:
                commands.append(
                    Command(
                        start,
                        end,
                        _flat(_text(node)) if "<<" not in _text(node) else _text(node),
                        words,
                        func,
                        logical=logical(stmt.start_point[0] + 1, min(s_end, start + 30), stmt, node),
                        redirects=redirects,
                        conditional=cond,
                        guarded=guard,
                        contexts=_materialise(ctx),
                    )
                )
        children = node.children
        if not children:
            continue
        states = _child_states(node, children, cond, guard, ctx, stmt)
        for k in range(len(children) - 1, -1, -1):
            stack.append((children[k], func, node, *states[k]))

    if error_lines:
        lo, hi = min(error_lines), max(error_lines)
        script.warnings.append(
            f"tree-sitter could not parse lines {lo}-{hi}: line-level analysis used for them"
        )
        fallback = line_level(text, shell)
        broken = [c for c in fallback.commands if c.line in error_lines]
        for c in broken:
            if c.function is None:  # inside a function tree-sitter did delimit: it belongs there
                inside = [(rng[0], name) for name, rng in functions.items() if rng[0] <= c.line <= rng[1]]
                if inside:
                    c.function = max(inside)[1]
        commands += broken
        assignments += [a for a in fallback.assignments if a[2] in error_lines]
        # keep functions the line layer found in broken regions
        for name, rng in fallback.functions.items():
            if name not in functions and rng[0] in error_lines:
                functions[name] = rng
    commands.sort(key=lambda c: c.line)
    assignments.sort(key=lambda a: a[2])
    script.commands = commands
    script.functions = functions
    script.assignments = assignments
    script.parser = "tree-sitter"
    return script
