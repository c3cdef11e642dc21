"""DEP047: server option groups written into a login user's ~/.my.cnf are never read by the server."""

from __future__ import annotations

from pathlib import Path

from chom_validate.findings import Status

from .conftest import findings, scan_tree

BAD = """#!/bin/bash
set -euo pipefail
apt-get install -y mysql-server
sudo tee /home/vagrant/.my.cnf <<EOL
[mysqld]
character-set-server=utf8mb4
EOL
service mysql restart
"""

GOOD = """#!/bin/bash
set -euo pipefail
umask 077
apt-get install -y mysql-server
cat > /etc/mysql/conf.d/charset.cnf <<EOL
[mysqld]
character-set-server=utf8mb4
EOL
cat > /root/.my.cnf <<EOL
[client]
user=root
EOL
service mysql restart
"""


def _scan(tmp_path: Path, text: str) -> list:
    (tmp_path / "provision.sh").write_text(text)
    return findings(scan_tree(tmp_path, only=["DEP047"]), "DEP047")


def test_server_group_in_user_option_file_fails_at_the_write(tmp_path: Path) -> None:
    fs = _scan(tmp_path, BAD)
    fails = [f for f in fs if f.status == Status.FAIL]
    assert len(fails) == 1, [f.message for f in fs]
    assert fails[0].evidence[0].line == 4 and "[mysqld]" in fails[0].message


def test_server_options_in_conf_d_and_client_credentials_pass(tmp_path: Path) -> None:
    fs = _scan(tmp_path, GOOD)
    assert fs and all(f.status == Status.PASS for f in fs), [(f.status, f.message) for f in fs]


def test_no_option_file_is_not_applicable(tmp_path: Path) -> None:
    fs = _scan(tmp_path, "#!/bin/sh\nset -e\necho hi\n")
    assert [f.status for f in fs] == [Status.NOT_APPLICABLE]
