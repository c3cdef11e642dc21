"""The command allow-list: strict, argv only, no shell syntax anywhere (no sshd needed)."""

from __future__ import annotations

import pytest

from chom_validate.targets.base import is_allowed

ALLOWED = [
    ["systemctl", "show", "--property=Id,Restart,ActiveState", "*.service"],
    ["systemctl", "show", "chom-app.service"],
    ["systemctl", "is-active", "nginx.service", "php8.2-fpm.service"],
    ["systemctl", "list-timers", "--all", "--no-pager"],
    ["ufw", "status", "verbose"],
    ["nft", "list", "ruleset"],
    ["iptables-save"],
    ["ss", "-ltnp"],
    ["certbot", "certificates"],
    ["openssl", "x509", "-noout", "-enddate", "-in", "/etc/letsencrypt/live/chom/cert.pem"],
    ["crontab", "-l"],
    ["crontab", "-l", "-u", "www-data"],
    ["df", "-P", "/", "/var"],
    ["free", "-b"],
    ["hostname"],
    ["sudo", "-n", "ufw", "status", "verbose"],
    ["tar", "-czf", "-", "--ignore-failed-read", "--exclude=*/.git", "-C", "/", "--", "/etc/ufw", "/opt"],
]

REFUSED = [
    [],
    ["rm", "-rf", "/"],
    ["sh", "-c", "id"],
    ["bash", "-c", "systemctl show"],
    ["systemctl", "stop", "nginx"],
    ["systemctl", "restart", "nginx.service"],
    ["systemctl", "show", "nginx;", "rm"],
    ["systemctl", "show", "nginx;rm -rf /"],
    ["systemctl", "show", "$(reboot)"],
    ["systemctl", "show", "`reboot`"],
    ["systemctl", "show", "a|b"],
    ["systemctl", "show", "a&&b"],
    ["systemctl", "show", "a > /etc/passwd"],
    ["systemctl", "show", "a\nreboot"],
    ["systemctl", "show", "--host=evil"],
    ["systemctl", "list-timers", "nginx.service"],
    ["ufw", "status", "verbose", "extra"],
    ["ufw", "disable"],
    ["ufw", "status"],  # not on the list as such: the verbose form carries the default policy
    ["ss", "-ltnp", "-K"],
    ["iptables-save", "-f", "/tmp/x"],
    ["nft", "flush", "ruleset"],
    ["certbot", "renew"],
    ["openssl", "x509", "-noout", "-enddate", "-in", "../../etc/shadow"],
    ["openssl", "x509", "-noout", "-enddate", "-in", "/a", "/b"],
    ["openssl", "req", "-new"],
    ["crontab", "-r"],
    ["crontab", "-l", "-u", "root;id"],
    ["crontab", "-e"],
    ["df", "-P", "relative"],
    ["cat", "/etc/shadow"],
    ["cat", "/etc/os-release", "/etc/shadow"],
    ["sudo", "ufw", "status", "verbose"],  # sudo without -n could prompt
    ["sudo", "-n", "rm", "-rf", "/"],
    ["sudo", "-n", "sudo", "-n", "hostname"],
    ["sudo", "-u", "root", "hostname"],
    ["tar", "-czf", "/etc/passwd", "/etc"],
    ["tar", "-xzf", "-", "-C", "/"],
    ["tar", "-czf", "-", "--to-command=sh", "--", "/etc"],
    ["tar", "-czf", "-", "--checkpoint-action=exec=sh", "--", "/etc"],
    ["tar", "-czf", "-", "--use-compress-program=sh", "--", "/etc"],
    ["tar", "-czf", "-", "-I", "sh", "--", "/etc"],
    ["tar", "-czf", "-", "--", "relative/path"],
    ["tar", "-czf", "-", "--", "/etc/../root/.ssh"],
    ["tar", "-czf", "-", "--"],
    ["tar", "-czf", "-", "/etc"],  # paths only after --
    ["tar", "-czf", "-", "-C", "/tmp", "-C", "/", "--", "/etc"],
    ["hostname", "evil"],
    ["hostname", "-f", "x"],
    ["uname", "-a", ";", "id"],
    ["free", "-b", "$HOME"],
    ["free", "-b", "'x'"],
    ["free", "-b", "a b"],
    ["free", "-b", "\x00"],
    ["HOSTNAME"],
    ["/usr/bin/hostname"],
    ["env", "hostname"],
]


@pytest.mark.parametrize("argv", ALLOWED, ids=lambda a: " ".join(a)[:60])
def test_allowed(argv: list[str]) -> None:
    assert is_allowed(argv)


@pytest.mark.parametrize("argv", REFUSED, ids=lambda a: repr(" ".join(a))[:60])
def test_refused(argv: list[str]) -> None:
    assert not is_allowed(argv)


def test_non_string_arguments_refused() -> None:
    assert not is_allowed(["hostname", 1])  # type: ignore[list-item]
    assert not is_allowed("hostname")  # type: ignore[arg-type]
