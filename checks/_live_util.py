"""How the live checks report a collected command: not_applicable on a tree or when the tool is
missing, error when it failed, evidence naming the host and argv (the parsed outputs are facts:
facts/live.py, facts/hosts.py). The outputs were collected by the engine before the checks ran.
"""

from __future__ import annotations

from chom_validate.api import CommandResult
from chom_validate.api import Context as ScanContext
from chom_validate.findings import Evidence, Result, sha256_hex

NOT_LIVE = "not a live target (repository or tree): no running state to compare"


def live_capable(ctx: ScanContext) -> bool:
    return "commands" in ctx.capabilities


def live_command(ctx: ScanContext, argv: tuple[str, ...]) -> tuple[CommandResult | None, Result | None]:
    """(output, None) when ``argv`` ran; else (None, the result to yield): not_applicable on a
    repository or when the command is missing on the host, error when it failed or timed out."""
    if not live_capable(ctx):
        return None, Result.not_applicable(NOT_LIVE, subject=ctx.name)
    res = ctx.command(argv)
    if res.missing:
        return None, Result.not_applicable(
            f"{argv[0]} not found on {ctx.name}", cmd_evidence(ctx, res), subject=ctx.name
        )
    if res.timed_out or res.returncode != 0:
        return None, Result.error(
            f"`{' '.join(argv)}` failed on {ctx.name} (exit {res.returncode}): {res.stderr[:200]}",
            cmd_evidence(ctx, res),
            subject=ctx.name,
        )
    return res, None


def cmd_evidence(
    ctx: ScanContext, res: CommandResult, line: str | None = None, note: str | None = None
) -> Evidence:
    return Evidence(
        host=ctx.name,
        command=list(res.argv),
        excerpt=(line.strip() if line else None) or None,
        digest=sha256_hex(res.stdout.encode()),
        note=note,
    )


def firewall_unreadable(ctx: ScanContext, tried: list[CommandResult]) -> Result | None:
    """not_applicable when no firewall tool exists, error when none could be read; else None."""
    if any(not r.missing and not r.timed_out and r.returncode == 0 for r in tried):
        return None
    if all(r.missing for r in tried):
        return Result.not_applicable(
            f"no firewall tool (ufw, nft, iptables-save) on {ctx.name}: the running firewall is unknown",
            *(cmd_evidence(ctx, r) for r in tried),
            subject=ctx.name,
        )
    why = "; ".join(f"`{' '.join(r.argv)}`: {(r.stderr or f'exit {r.returncode}')[:120]}" for r in tried)
    return Result.error(
        f"could not read the running firewall on {ctx.name} (try --sudo): {why}",
        *(cmd_evidence(ctx, r) for r in tried),
        subject=ctx.name,
    )
