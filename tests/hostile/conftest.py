"""One session-wide hostile run (all cases, two forked CLI processes at a time) and its tally."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from .harness import Session, build_and_run, cleanup

_SESSION: list[Session] = []


@pytest.fixture(scope="session")
def hostile() -> Iterator[Session]:
    s = build_and_run()
    _SESSION.append(s)
    yield s
    cleanup(s)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _SESSION:
        return
    s = _SESSION[0]
    outs = list(s.outcomes.values())
    tr = terminalreporter
    tr.section("hostile inputs tally")
    verdicts = Counter(o.verdict for o in outs)
    tr.write_line(
        f"{len(outs)} cases in {s.wall:.1f}s (wall, all CLI runs): {sum(o.ok for o in outs)} ok, "
        f"{sum(not o.ok for o in outs)} bad; verdicts: "
        + ", ".join(f"{k or 'none'} {v}" for k, v in sorted(verdicts.items()))
    )
    problems = Counter(p.split(":")[0] for o in outs for p in o.problems)
    tracebacks = sum(1 for o in outs if any(p.startswith("traceback") for p in o.problems))
    hangs = sum(1 for o in outs if any(p.startswith("hang") for p in o.problems))
    writes = sum(1 for o in outs if any("changed" in p for p in o.problems))
    peak = max((o.maxrss_kb for o in outs), default=0) // 1024
    slowest = max(s.results.values(), key=lambda r: r["seconds"], default=None)
    tr.write_line(
        f"tracebacks {tracebacks}, hangs {hangs}, writes {writes}, peak RSS {peak} MB, "
        f"slowest invocation {slowest['seconds'] if slowest else 0:.1f}s"
    )
    by_topic: Counter[str] = Counter(o.topic for o in outs)
    tr.write_line("by topic: " + ", ".join(f"{k} {v}" for k, v in sorted(by_topic.items())))
    if problems:
        tr.write_line("problem kinds: " + ", ".join(f"{k} {v}" for k, v in problems.most_common()))
    internal = [(o.id, m) for o in outs for m in o.internal]
    if internal:
        tr.write_line(f"parser/check failures shown as errors ({len(internal)}):")
        for cid, m in internal:
            tr.write_line(f"  {cid}: {m}")
