"""systemd syntax: continuation, comments in continuations, list reset, specifiers, drop-ins."""

from __future__ import annotations

from chom_validate.artifacts.systemd import dropin_unit_name, merged_units, parse_unit_text

UNIT = """\
[Unit]
After=a.target
After=
After=network-online.target
[Service]
ExecStart=/usr/bin/x \\
# a comment inside the continuation
    --flag=1 \\
    --state=%S/%N
User=x
"""


def test_continuation_reset_and_specifiers() -> None:
    u = parse_unit_text(UNIT, "foo@bar.service")
    assert u.values("Unit", "After") == ["network-online.target"]
    d = u.last("Service", "ExecStart")
    assert d is not None and d.line == 6 and "--flag=1" in d.value
    assert u.expand(d.value).endswith("--state=/var/lib/foo@bar")
    assert (u.prefix, u.instance) == ("foo", "bar")


def test_dropins_merge_in_lexical_order() -> None:
    base = parse_unit_text(UNIT, "x.service")
    d1 = parse_unit_text("[Service]\nUser=\nUser=root\n", "x.service")
    d2 = parse_unit_text("[Service]\nUser=svc\n", "x.service")

    class A:
        def __init__(self, path: str) -> None:
            self.path, self.host = path, None

    a1, a2, main = A("x.service.d/10-a.conf"), A("x.service.d/20-b.conf"), A("x.service")
    [(_, merged)] = merged_units([(main, base)], [(a2, d2), (a1, d1)])  # type: ignore[list-item]
    user = merged.last("Service", "User")
    assert user is not None and user.value == "svc" and user.source is a2
    assert dropin_unit_name("/etc/systemd/system/x.service.d/10-a.conf") == "x.service"
