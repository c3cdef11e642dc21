"""The four firewall sources normalise to the same rule model."""

from __future__ import annotations

from chom_validate.artifacts.firewall import (
    parse_iptables_save,
    parse_nft_ruleset,
    parse_ufw_script,
    parse_ufw_status,
)
from chom_validate.artifacts.shell import parse_shell_text

MON = "51.254.139.78"


def test_ufw_script_expands_loops_and_variables() -> None:
    fw = parse_ufw_script(
        parse_shell_text(
            'M="51.254.139.78"\nufw default deny incoming\nufw limit 22/tcp\n'
            'for p in 9100 9104; do\n  ufw allow proto tcp from "$M" to any port "$p"\ndone\n'
            "ufw allow 8080/tcp\nufw --force enable\n"
        )
    )
    assert fw is not None and fw.default_incoming == "deny" and fw.enabled
    assert fw.decide(9104, "tcp", MON) == (True, fw.rules[2])
    assert fw.rules[2].line == 5
    assert fw.decide(9121, "tcp", MON)[0] is False
    assert [r.line for r in fw.public_rules(8080)] == [7]


STATUS = """Status: active
Logging: on (low)
Default: deny (incoming), allow (outgoing), disabled (routed)

To                         Action      From
--                         ------      ----
22/tcp                     LIMIT IN    Anywhere
9100/tcp                   ALLOW IN    51.254.139.78              # scrape
8080/tcp                   ALLOW IN    Anywhere
22/tcp (v6)                LIMIT IN    Anywhere (v6)
"""


def test_ufw_status_verbose() -> None:
    fw = parse_ufw_status(STATUS)
    assert fw.enabled and fw.default_incoming == "deny" and fw.ipv6
    assert fw.decide(9100, "tcp", MON)[0] and not fw.decide(9100, "tcp", "1.2.3.4")[0]
    assert fw.public_rules(8080)[0].line == 9


def test_iptables_save() -> None:
    text = """*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -s 51.254.139.78/32 -p tcp -m tcp --dport 9100 -j ACCEPT
-A INPUT -p tcp -m multiport --dports 80,443 -j ACCEPT
COMMIT
"""
    fw = parse_iptables_save(text)
    assert fw.default_incoming == "deny" and len(fw.rules) == 2
    assert fw.decide(9100, "tcp", MON)[0] and fw.public_rules(443)[0].line == 7


def test_nft_ruleset() -> None:
    text = """table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		iif "lo" accept
		ct state established,related accept
		tcp dport 22 limit rate 10/minute accept
		ip saddr 51.254.139.78 tcp dport { 9100, 9113 } accept
		tcp dport { 80, 443 } accept
	}
}
"""
    fw = parse_nft_ruleset(text)
    assert fw.default_incoming == "deny" and fw.ipv6
    assert fw.rules[0].action == "limit"
    assert fw.decide(9113, "tcp", MON)[0] and not fw.decide(9113, "tcp", "1.1.1.1")[0]
