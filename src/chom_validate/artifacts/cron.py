"""Schedules: cron files (``/etc/cron.d`` with a user field, crontabs, ``@daily``), cron lines that
scripts install (``echo "0 2 * * * root /opt/x.sh" > /etc/cron.d/x``, ``| crontab -``), and systemd
timers (``OnCalendar=``, ``OnUnitActiveSec=``).

Every schedule becomes an interval: the longest gap between two consecutive runs (what an RPO has to
be compared with). Fire times are enumerated day by day over a year, so odd schedules
(``0 2 1,15 * *``, ``30 */6 * * 1-5``) get their real worst-case gap, not a guess.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import posixpath
import re
from dataclasses import dataclass, field

from .base import Artifact, parser
from .discover import Candidate, detector
from .systemd import Unit

_SPECIALS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
_DAYS = {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\s*=")
_NOT_USERS = {"cd", "test", "bash", "sh", "flock", "nice", "ionice", "timeout", "run-parts", "env", "["}


class CronSyntaxError(ValueError):
    pass


@dataclass
class CronEntry:
    schedule: str  # the five fields (or @special)
    command: str
    line: int
    user: str | None = None

    @property
    def interval(self) -> int | None:
        return schedule_interval(self.schedule)


@dataclass
class CronFile:
    entries: list[CronEntry] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    errors: list[tuple[int, str]] = field(default_factory=list)


def _field(spec: str, lo: int, hi: int, names: dict[str, int] | None = None) -> set[int]:
    out: set[int] = set()
    for part in spec.split(","):
        step = 1
        if "/" in part:
            part, s = part.split("/", 1)
            if not s.isdigit() or int(s) == 0:
                raise CronSyntaxError(f"bad step {s!r}")
            step = int(s)
        if part in ("*", "?"):
            a, b = lo, hi
        else:
            bounds = part.split("-", 1)
            vals = []
            for v in bounds:
                v = v.lower()
                if names and v[:3] in names:
                    vals.append(names[v[:3]])
                elif v.isdigit():
                    vals.append(int(v))
                else:
                    raise CronSyntaxError(f"bad value {v!r}")
            a = vals[0]
            b = vals[1] if len(vals) > 1 else (hi if step > 1 else a)
        if names is _DAYS:
            a, b = (0 if a == 7 else a), (7 if b == 7 and a != 7 else b)
        if a < lo or b > (7 if names is _DAYS else hi) or a > b:
            raise CronSyntaxError(f"value out of range in {spec!r}")
        out.update(v % 7 if names is _DAYS else v for v in range(a, b + 1, step))
    return out


def _run_days(schedule: str, days: int) -> tuple[list[int], list[int]]:
    """(matching day indices over ``days`` days from a fixed Monday, sorted minutes of the day)."""
    expr = _SPECIALS.get(schedule.strip().lower(), schedule)
    parts = expr.split()
    if len(parts) != 5:
        raise CronSyntaxError(f"expected 5 fields, got {len(parts)}: {schedule!r}")
    mins = _field(parts[0], 0, 59)
    hours = _field(parts[1], 0, 23)
    dom = _field(parts[2], 1, 31)
    months = _field(parts[3], 1, 12, _MONTHS)
    dow = _field(parts[4], 0, 7, _DAYS)
    dom_any = parts[2] in ("*", "?")
    dow_any = parts[4] in ("*", "?")
    start = dt.date(2024, 1, 1)  # a Monday; 2024 is a leap year, so Feb 29 schedules run too
    matched = []
    for d in range(days):
        day = start + dt.timedelta(days=d)
        if day.month not in months:
            continue
        cron_dow = (day.weekday() + 1) % 7
        if dom_any and dow_any:
            ok = True
        elif dom_any:
            ok = cron_dow in dow
        elif dow_any:
            ok = day.day in dom
        else:  # both restricted: cron runs when either matches
            ok = day.day in dom or cron_dow in dow
        if ok:
            matched.append(d)
    return matched, sorted(h * 60 + m for h in hours for m in mins)


def fire_times(schedule: str, days: int = 400) -> list[dt.datetime]:
    """Run times of a cron schedule over ``days`` days from a fixed Monday (deterministic)."""
    matched, minutes = _run_days(schedule, days)
    start = dt.datetime(2024, 1, 1)
    return [start + dt.timedelta(days=d, minutes=m) for d in matched for m in minutes]


@functools.lru_cache(maxsize=1024)
def schedule_interval(schedule: str) -> int | None:
    """Longest gap in seconds between consecutive runs; None for @reboot or a bad schedule.

    Computed from the matching days and the minutes of the day, without enumerating every run:
    the gap is either inside a day or from the last run of one matching day to the first of the next.
    """
    if schedule.strip().lower() == "@reboot":
        return None
    try:
        matched, minutes = _run_days(schedule, 400)
    except CronSyntaxError:
        return None
    if not matched or not minutes:
        return None
    if len(matched) == 1 and len(minutes) == 1:
        return 366 * 86400
    gaps = [b - a for a, b in itertools.pairwise(minutes)]
    gaps += [(d2 - d1) * 1440 + minutes[0] - minutes[-1] for d1, d2 in itertools.pairwise(matched)]
    return max(gaps) * 60


def split_cron_line(text: str, system: bool | None) -> CronEntry | None:
    """Split one crontab line into schedule, user and command (``system`` None = guess the format)."""
    s = text.strip()
    if not s or s.startswith("#") or _ENV_RE.match(s):
        return None
    if s.startswith("@"):
        bits = s.split(None, 1)
        sched, rest = bits[0], (bits[1] if len(bits) > 1 else "")
    else:
        bits = s.split(None, 5)
        if len(bits) < 6:
            return None
        sched, rest = " ".join(bits[:5]), bits[5]
        if not re.fullmatch(r"[\d*/,\-A-Za-z? ]+", sched):
            return None
    user = None
    words = rest.split(None, 1)
    if (
        system is True
        or (
            system is None
            and len(words) == 2
            and re.fullmatch(r"[a-z_][a-z0-9_-]*", words[0])
            and words[0] not in _NOT_USERS
        )
    ) and len(words) == 2:
        user, rest = words[0], words[1]
    return CronEntry(schedule=sched, command=rest.strip(), line=0, user=user)


def is_system_crontab(path: str) -> bool:
    return bool(re.search(r"(^|/)cron\.d/|(^|/)etc/crontab$", path)) or posixpath.basename(path) == "crontab"


def parse_cron_text(text: str, system: bool | None) -> CronFile:
    cf = CronFile()
    for n, raw in enumerate(text.splitlines(), 1):
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        if _ENV_RE.match(s):
            k, v = s.split("=", 1)
            cf.env[k.strip()] = v.strip().strip("'\"")
            continue
        entry = split_cron_line(s, system)
        if entry is None:
            cf.errors.append((n, f"not a cron entry: {s[:60]!r}"))
            continue
        entry.line = n
        if entry.schedule.lower() != "@reboot" and schedule_interval(entry.schedule) is None:
            cf.errors.append((n, f"invalid schedule {entry.schedule!r}"))
        cf.entries.append(entry)
    return cf


_CRON_LINE = re.compile(
    r"^[ \t]*(@(hourly|daily|midnight|weekly|monthly|yearly|annually|reboot)|([\d*/,\-]+[ \t]+){4}[\d*/,\-A-Za-z]+)[ \t]+\S",
    re.M,
)


@detector("cron_dir", order=72)
def _detect_cron_dir(c: Candidate) -> str | None:
    """Cron files kept in a repository directory named cron/ or crontabs/ (installed into cron.d)."""
    if re.search(r"(^|/)(cron|crontabs?)/[^/.]+$", c.path) and _CRON_LINE.search(c.text):
        return "cron"
    return None


@parser("cron")
def parse_cron(artifact: Artifact) -> CronFile:
    path = artifact.install_path or artifact.path
    system: bool | None = True if is_system_crontab(path) else None
    if "/spool/cron/" in path:
        system = False
    return parse_cron_text(artifact.text, system)


# -- cron lines installed by scripts ------------------------------------------------------------------

_QUOTED_CRON = re.compile(
    r"""(?P<q>["'])(?P<entry>(?:@(?:hourly|daily|midnight|weekly|monthly|yearly|annually|reboot)|"""
    r"""(?:[\d*/,\-]+\s+){4}[\d*/,\-A-Za-z]+)\s+[^"']+)(?P=q)"""
)


def cron_lines_in_script(lines: list[str], skip: set[int] | None = None) -> list[CronEntry]:
    """Cron entries a script writes with echo/printf into cron.d or pipes into ``crontab -``."""
    out = []
    for n, raw in enumerate(lines, 1):
        if skip and n in skip:
            continue
        if "cron" not in raw:
            continue
        for m in _QUOTED_CRON.finditer(raw):
            system = True if re.search(r"cron\.d/|/etc/crontab", raw) else None
            entry = split_cron_line(m.group("entry"), system)
            if entry is not None:
                entry.line = n
                out.append(entry)
    return out


# -- systemd timers -------------------------------------------------------------------------------------

_CAL_SHORT = {
    "minutely": "* * * * *",
    "hourly": "0 * * * *",
    "daily": "0 0 * * *",
    "weekly": "0 0 * * 1",
    "monthly": "0 0 1 * *",
    "yearly": "0 0 1 1 *",
    "annually": "0 0 1 1 *",
    "quarterly": "0 0 1 1,4,7,10 *",
    "semiannually": "0 0 1 1,7 *",
}


def _cal_part(v: str) -> str:
    v = v.strip()
    if v in ("*", ""):
        return "*"
    out = []
    for piece in v.split(","):
        if "/" in piece:
            a, step = piece.split("/", 1)
            out.append(f"{int(a) if a not in ('*', '') else '*'}/{int(step)}")
        elif ".." in piece:
            a, b = piece.split("..", 1)
            out.append(f"{int(a)}-{int(b)}")
        else:
            out.append(str(int(piece)))
    return ",".join(out)


def oncalendar_to_cron(spec: str) -> str | None:
    """Translate a systemd calendar expression to a cron schedule (seconds dropped); None if unknown."""
    s = spec.strip().lower()
    if s in _CAL_SHORT:
        return _CAL_SHORT[s]
    s = re.sub(r"\s+(utc|[a-z]+/[a-z_]+)$", "", s)
    dow = "*"
    date = "*-*-*"
    time = "00:00:00"
    for tok in s.split():
        if re.match(r"^[a-z]{3}", tok):
            items = []
            for p in tok.split(","):
                if ".." in p:
                    a, b = p.split("..", 1)
                    items.append(f"{_DAYS[a[:3]]}-{_DAYS[b[:3]]}")
                else:
                    items.append(str(_DAYS[p[:3]]))
            dow = ",".join(items)
        elif "-" in tok:
            date = tok
        elif ":" in tok:
            time = tok
        else:
            return None
    try:
        dparts = date.split("-")
        if len(dparts) == 2:
            dparts = ["*", *dparts]
        _, mon, day = dparts
        tparts = time.split(":")
        hour, minute = tparts[0], tparts[1] if len(tparts) > 1 else "0"
        return " ".join([_cal_part(minute), _cal_part(hour), _cal_part(day), _cal_part(mon), dow])
    except (ValueError, KeyError):
        return None


@dataclass
class TimerSchedule:
    unit: str
    service: str  # unit the timer activates
    line: int
    spec: str
    interval: int | None


def timer_schedules(unit: Unit) -> list[TimerSchedule]:
    """Schedules of a ``.timer`` unit: OnCalendar= (as cron) and OnUnitActiveSec=/OnUnitInactiveSec=."""
    from .docs import parse_duration

    service = unit.get("Timer", "Unit") or posixpath.splitext(unit.name)[0] + ".service"
    out = []
    for d in unit.entries("Timer", "OnCalendar"):
        cron = oncalendar_to_cron(d.value)
        out.append(
            TimerSchedule(unit.name, service, d.line, d.value, schedule_interval(cron) if cron else None)
        )
    for key in ("OnUnitActiveSec", "OnUnitInactiveSec"):
        for d in unit.entries("Timer", key):
            out.append(TimerSchedule(unit.name, service, d.line, f"{key}={d.value}", parse_duration(d.value)))
    return out
