"""Config written where the program that should read it never looks."""

from __future__ import annotations

import re
from collections.abc import Iterator

from chom_validate.facts.inputs import Writes
from chom_validate.findings import Result
from chom_validate.registry import check

# A per-user option file: ~/.my.cnf of a login account (root or /home/<user>), not the data directory.
_USER_MY_CNF = re.compile(r"^(?:~|\$HOME|\$\{HOME\}|/root|/home/[^/]+)/\.my\.cnf$")
_SERVER_GROUP = re.compile(r"^[ \t]*\[(mysqld|mysqld_safe|server|mariadb|mariadbd|mysqld-[\d.]+)\][ \t]*$", re.M)


@check(
    "DEP047", "server-options-in-user-option-file", category="deploy", severity="medium", pillar="reliability"
)
def server_options_in_user_file(writes: Writes) -> Iterator[Result]:
    """MySQL/MariaDB server options are not written into a login user's `~/.my.cnf`.

    What it does
        Looks at every file the scripts write (heredocs, `tee`, `echo >`) whose path is a login
        account's option file (`/root/.my.cnf`, `/home/<user>/.my.cnf`, `~/.my.cnf`) and whose
        content has a server group (`[mysqld]`, `[mysqld_safe]`, `[server]`, `[mariadb]`).
    Why it matters
        mysqld reads the global option files (`/etc/mysql/my.cnf` and its `conf.d` includes) and
        only the `~/.my.cnf` of the account it runs as (`mysql`); client programs that read a login
        user's `~/.my.cnf` ignore server groups. The options (character set, collation, buffer
        sizes, bind address) are silently never applied, and the restart that follows "succeeds".
    Example
        tee /home/vagrant/.my.cnf <<EOL
        [mysqld]
        character-set-server=utf8mb4
        EOL
    Fix
        Write server options to `/etc/mysql/conf.d/NAME.cnf` (or `mariadb.conf.d/`), and keep
        `~/.my.cnf` for `[client]`/`[mysql]` credentials (mode 0600).
    References
        https://dev.mysql.com/doc/refman/8.0/en/option-files.html
    Severity
        Medium: a configuration the deployment relies on is not in effect, with no error; it is not
        an outage by itself.
    """
    seen = False
    for w in writes:
        if not _USER_MY_CNF.match(w.path):
            continue
        seen = True
        m = _SERVER_GROUP.search(w.content or "")
        if m is None:
            yield Result.passed(
                f"{w.path} written at {w.where} holds no server group", w.artifact.evidence(w.line)
            )
            continue
        yield Result.fail(
            f"{w.where}: [{m.group(1)}] options written to {w.path}, a login user's option file that the "
            "server never reads: they are not applied",
            w.artifact.evidence(w.line, note=f"[{m.group(1)}] group in a per-user option file"),
            subject=f"{w.artifact.path} {w.path}",
        )
    if not seen:
        yield Result.not_applicable("no script writes a per-user MySQL option file")
