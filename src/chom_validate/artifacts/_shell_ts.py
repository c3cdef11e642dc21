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


def _conditional(node: Any) -> bool:
    """Inside an if/while condition, a `&&`/`||` list or negated (its failure does not stop the script)."""
    child = node
    parent = node.parent
    while parent is not None and parent.type not in ("program", "compound_statement", "function_definition"):
        if parent.type == "list":
            return True
        if parent.type == "negated_command":
            return True
        if parent.type in _COND_PARENTS:
            cond = parent.child_by_field_name("condition")
            if cond is not None and cond.start_byte <= child.start_byte < cond.end_byte:
                return True
            # bash grammar: condition nodes come before `then`
            for c in parent.children:
                if c.type == "then":
                    break
                if c.id == child.id:
                    return True
            return False
        if parent.type in ("do_group", "case_item", "else_clause", "subshell"):
            return False
        child, parent = parent, parent.parent
    return False


_STATEMENT_WRAPPERS = ("pipeline", "list", "redirected_statement", "negated_command")


def _contexts(node: Any) -> tuple[str, ...]:
    """Execution contexts of a command node, innermost first, up to its function body."""
    out: list[str] = []
    child = node
    parent = node.parent
    while parent is not None and parent.type not in ("program", "function_definition"):
        pt = parent.type
        if pt == "list":
            ops = [c for c in parent.children if c.type in ("&&", "||")]
            last = parent.children[-1] if parent.children else None
            out.append("andor_last" if last is not None and last.id == child.id and ops else "andor")
        elif pt == "negated_command":
            out.append("negated")
        elif pt == "pipeline":
            parts = [c for c in parent.children if c.is_named]
            out.append("pipeline_last" if parts and parts[-1].id == child.id else "pipeline")
        elif pt == "command_substitution":
            out.append("cmdsubst")
        elif pt == "process_substitution":
            out.append("procsubst")
        elif pt == "subshell":
            out.append("subshell")
        elif pt in ("if_statement", "while_statement", "elif_clause"):
            is_cond = False
            for c in parent.children:
                if c.type in ("then", "do_group"):
                    break
                if c.id == child.id:
                    is_cond = True
                    break
            if is_cond:
                out.append("condition")
        if pt not in _STATEMENT_WRAPPERS:
            nxt = child.next_sibling
            if nxt is not None and nxt.type == "&" and child.type != "command_name":
                out.append("background")
        child, parent = parent, parent.parent
    if parent is not None and parent.type == "program":
        nxt = child.next_sibling
        if nxt is not None and nxt.type == "&":
            out.append("background")
    return tuple(out)


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

    def logical(start: int, end: int) -> str:
        out = []
        for i in range(start, min(end, len(lines)) + 1):
            if i in script.heredoc_lines:
                continue
            if i not in stripped:
                stripped[i] = strip_comment(lines[i - 1]).strip()
            out.append(stripped[i])
        return " ".join(out)

    def guarded(node: Any) -> bool:
        p = node.parent
        while p is not None and p.type != "function_definition":
            if p.type in ("if_statement", "list", "case_item", "negated_command"):
                return True
            p = p.parent
        return False

    stack: list[tuple[Any, str | None]] = [(tree.root_node, None)]
    while stack:
        node, func = stack.pop()
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
                        logical=logical(start, min(end, start + 30)),
                        conditional=_conditional(node),
                        guarded=guarded(node),
                        contexts=_contexts(node),
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
            parent = node.parent
            if parent is not None and parent.type == "redirected_statement":
                for c in parent.children:
                    if c.type == "file_redirect":
                        op = next((_text(x) for x in c.children if not x.is_named), ">")
                        dest = c.child_by_field_name("destination") or (c.named_children or [None])[-1]
                        if dest is not None:
                            redirects.append((op, _unquote(_text(dest))))
            start, end = node.start_point[0] + 1, node.end_point[0] + 1
            # a statement spanning continuation lines: the logical text covers all of them
            stmt = node
            while stmt.parent is not None and stmt.parent.type in (
                "pipeline",
                "list",
                "redirected_statement",
                "negated_command",
            ):
                stmt = stmt.parent
            s_end = stmt.end_point[0] + 1
            if t == "command" or words:
                commands.append(
                    Command(
                        start,
                        end,
                        _flat(_text(node)) if "<<" not in _text(node) else _text(node),
                        words,
                        func,
                        logical=logical(stmt.start_point[0] + 1, min(s_end, start + 30)),
                        redirects=redirects,
                        conditional=_conditional(node),
                        guarded=guarded(node),
                        contexts=_contexts(node),
                    )
                )
        for child in reversed(node.children):
            stack.append((child, func))

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
