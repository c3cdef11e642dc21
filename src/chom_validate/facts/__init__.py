"""The deployment model: what the scripts and configs really do, as typed facts checks ask for.

Facts are built from parsed artifacts (and, on live targets, collected command output) and do
no I/O of their own. Each module holds one kind of fact (shell programs, generated files,
firewall rule sets, backups, ...); builders are memoised per scan through ``Context.derived``.
"""
