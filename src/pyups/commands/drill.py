"""``pyups drill``: rehearse the protection plan against the real upsd, doing none of it.

Each UPS that feeds this host is asked what the monitor will need of it: its variables (for
the runtime at low battery), how many sessions upsd counts on it and, as primary, who they
are; then a second session logs in (``LOGIN``, and ``PRIMARY`` as primary) exactly as the
monitor would, and logs out at once. upsd 2.8's ``PRIMARY`` only checks the user's rights:
it changes nothing on upsd, so asking it is safe; ``FSD`` is never sent. The ``before``
steps' programs and the command are looked up as exec would find them, never run; the flag's
directory is checked for writing with ``access(2)``, and no flag is written. The arithmetic
and the verdicts are :mod:`pyups.core.drill`'s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field

from pyups.commands.check_config import protection, warnings
from pyups.commands.common import EXIT_FAILURE, EXIT_OK, config_path
from pyups.commands.explain import Request, explain
from pyups.config import Config, UpsConfig, load_config
from pyups.config.views import feeds, sequence_plan_of, tls_of
from pyups.core.drill import (
    Check,
    Level,
    Runtime,
    Stage,
    duration,
    failed,
    fit,
    fit_check,
    host_sync_check,
    offsets,
    runtime_at_low_battery,
    timeline,
    worst_case,
)
from pyups.core.protection import Role
from pyups.core.sequence import SequencePlan
from pyups.nut import Attach, Connection, NutError
from pyups.service.flag import FlagState, flag_state, is_volatile

WIDTH = 100  # the report's lines are wrapped to this


@dataclass
class Findings:
    """What upsd said about one UPS that feeds this host."""

    ups: UpsConfig
    checks: list[Check] = field(default_factory=list)
    runtime: Runtime = field(default_factory=lambda: Runtime(None, "not reached"))
    logins: int | None = None  # sessions upsd counts, the drill's own not included
    clients: list[str] | None = None  # their addresses (as primary, when upsd lists them)
    local: str | None = None  # this host's address as upsd sees it


@dataclass(frozen=True)
class Timeline:
    """The worst-case timeline shared by the UPSes this host has one role for."""

    role: Role
    ups: tuple[str, ...]
    stages: tuple[Stage, ...]

    @property
    def worst_case(self) -> float:
        return worst_case(self.stages)


@dataclass
class Report:
    config: str
    protection: str
    checks: list[Check]
    timelines: list[Timeline]
    upses: list[Findings]

    @property
    def ok(self) -> bool:
        return not failed(self.checks)


def main(args: argparse.Namespace) -> int:
    path, _ = config_path(args.config)
    config = load_config(path)  # ConfigError: every problem, exit 78 (see cli.main)
    report = drill(config, path)
    print(as_json(report) if args.json else as_table(report))
    return EXIT_OK if report.ok else EXIT_FAILURE


def drill(config: Config, path: str) -> Report:
    """Every check of the plan, against the real upsd and this host; nothing is done."""
    plan = sequence_plan_of(config)
    fed = [u for u in config.ups if feeds(u)]
    advice = dict(_warnings(config))
    checks: list[Check] = []
    if not fed:
        line = protection(config)
        checks.append(Check("protection", Level.FAILED, f"{line}: there is no plan to rehearse"))
    found = [_probe(ups, config, advice) for ups in fed]
    for findings in found:
        checks.extend(findings.checks)
    primaries = [f for f in found if f.ups.role is Role.PRIMARY]
    if primaries:
        monitor = config.monitor
        checks.append(
            host_sync_check(
                plan.host_sync, monitor.interval_alert, plan.final_delay, _hosts(primaries)
            )
        )
    for index, step in enumerate(plan.before, 1):
        checks.append(program_check(f"before {index}", step.argv))
    if fed or plan.before:
        checks.append(program_check("command", plan.command))
    if plan.flag is not None and fed:
        checks.append(flag_check(plan.flag))
    timelines = _timelines(config, plan, fed)
    for findings in found:
        lines = next(t for t in timelines if t.role is findings.ups.role)
        checks.append(
            fit_check(f"runtime {findings.ups.address}", lines.worst_case, findings.runtime)
        )
    covered = {"shutdown.command"} | ({"shutdown.host_sync"} if primaries else set())
    for key, text in _warnings(config):
        # A secondary's missing username is its session's failure, said above in these words.
        if key not in covered and not key.endswith(".username"):
            checks.append(Check(key, Level.WARNING, text))
    checks.extend(Check("config", Level.WARNING, text) for text in config.warnings)
    return Report(path, protection(config), checks, timelines, found)


def _warnings(config: Config) -> list[tuple[str, str]]:
    """check-config's warnings as (key, text)."""
    return [(w.partition(": ")[0], w.partition(": ")[2]) for w in warnings(config)]


def _timelines(config: Config, plan: SequencePlan, fed: Sequence[UpsConfig]) -> list[Timeline]:
    out = []
    for role in (Role.PRIMARY, Role.SECONDARY):
        names = tuple(str(u.address) for u in fed if u.role is role)
        if names:
            stages = timeline(
                role, plan, config.monitor.interval_alert, config.shutdown.lowbatt_for
            )
            out.append(Timeline(role, names, stages))
    return out


# --- upsd -----------------------------------------------------------------------------------


def _probe(ups: UpsConfig, config: Config, advice: dict[str, str]) -> Findings:
    """Read the UPS, count its sessions, then log in as the monitor would and log out."""
    name, timeout = str(ups.address), config.monitor.timeout
    primary = ups.role is Role.PRIMARY
    findings = Findings(ups)
    reader = Connection(ups.server, timeout, ups.username, ups.password, tls_of(ups))
    try:
        variables = reader.list_vars(ups.name)
    except NutError as exc:
        findings.checks.append(_failed(f"session {name}", exc, ups, timeout))
        reader.close()
        return findings
    findings.runtime = runtime_at_low_battery(variables)
    try:
        findings.logins = reader.num_logins(ups.name)
        if primary:
            findings.clients = reader.list_clients(ups.name)
        findings.local = reader.local_host
    except NutError as exc:
        findings.checks.append(Check(f"hosts {name}", Level.WARNING, _uncounted(exc, primary)))
    finally:
        reader.close()
    findings.checks.insert(0, _session(ups, config, advice))
    if findings.logins is not None:
        findings.checks.insert(1, Check(f"hosts {name}", Level.OK, _counted(findings)))
    return findings


def _session(ups: UpsConfig, config: Config, advice: dict[str, str]) -> Check:
    """Whether upsd lets this host log in (and claim primary) on the UPS, as the monitor will."""
    name, primary = str(ups.address), ups.role is Role.PRIMARY
    check = f"session {name}"
    if ups.username is None:
        index = config.ups.index(ups)
        text = advice.get(f"ups[{index}].username")
        if text is None:  # a primary: check-config has nothing to say, the plan fails here
            text = (
                f"{name} feeds this host (power = {ups.power}) as its primary without a "
                "username: this host cannot log in, so it can neither set FSD nor wait for "
                "its secondaries; add username and password_file (upsd.users: upsmon primary)"
            )
        return Check(check, Level.FAILED, text)
    session = Connection(
        ups.server,
        config.monitor.timeout,
        ups.username,
        ups.password,
        tls_of(ups),
        attach=Attach(ups.name, primary=primary),
    )
    try:
        session.open()
    except NutError as exc:
        return _failed(check, exc, ups, config.monitor.timeout)
    finally:
        session.close()
    if session.attach_error is not None:
        return Check(check, Level.FAILED, session.attach_error.detail)
    asked = "LOGIN and PRIMARY" if primary else "LOGIN"
    return Check(check, Level.OK, f"user {ups.username}: upsd accepts {asked} (logged out again)")


def _failed(check: str, exc: NutError, ups: UpsConfig, timeout: float) -> Check:
    """A failed check saying what upsd's answer means, as ``pyups status`` would (explain()),
    without the UPS the sentence starts with: the check's name says it."""
    request = Request("status", ups.server, ups.name, user=ups.username, timeout=timeout)
    return Check(check, Level.FAILED, explain(exc, request).removeprefix(f"{ups.address}: "))


def _counted(findings: Findings) -> str:
    count = findings.logins or 0
    text = f"upsd counts {count} {'session' if count == 1 else 'sessions'} logged in now"
    text += ", besides the drill's own"
    if findings.clients:
        text += ": " + ", ".join(_address(c, findings.local) for c in findings.clients)
    return text


def _address(client: str, local: str | None) -> str:
    return f"{client} (this host)" if client == local else client


def _uncounted(exc: NutError, primary: bool) -> str:
    text = f"upsd would not say who is logged in ({exc.code}: {exc.detail})"
    if primary:
        text += "; the sequence then waits the whole host_sync"
    return text


def _hosts(primaries: Sequence[Findings]) -> str:
    """Who the primary's host_sync waits for, as far as upsd says."""
    parts = []
    for f in primaries:
        if f.clients is not None:
            others = [c for c in f.clients if c != f.local]
            who = f" ({', '.join(others)})" if others else ""
            parts.append(f"{len(others)} other {'host' if len(others) == 1 else 'hosts'}{who}")
        elif f.logins is not None:
            parts.append(f"{f.logins} {'session' if f.logins == 1 else 'sessions'}")
        else:
            parts.append("an unknown number of hosts")
    listing = ", ".join(f"{part} on {f.ups.name}" for f, part in zip(primaries, parts, strict=True))
    return f"upsd counts {listing} now; their own plans cannot be read from here"


# --- this host ------------------------------------------------------------------------------


def program_check(name: str, argv: Sequence[str]) -> Check:
    """Whether ``argv[0]`` is a program exec would find and run (PATH as this process has it)."""
    program = argv[0]
    found = shutil.which(program)
    if found is not None:
        where = "" if found == program else f" ({found})"
        return Check(name, Level.OK, f"{' '.join(argv)}: executable{where}; not run")
    if os.sep in program:
        why = "not executable" if os.path.exists(program) else "no such file"
    else:
        why = f"not found on PATH ({os.environ.get('PATH', os.defpath)})"
    return Check(name, Level.FAILED, f"{program}: {why}, so it could not run")


def flag_check(path: str) -> Check:
    """Whether the power-down flag could be written at ``path``; nothing is written."""
    state = flag_state(path)
    if state is FlagState.FOREIGN:
        return Check(
            "flag",
            Level.FAILED,
            f"{path} exists and is not a power-down flag: it would not be replaced",
        )
    directory = os.path.dirname(os.path.abspath(path))
    existing = directory
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        return Check("flag", Level.FAILED, f"{path}: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        return Check(
            "flag",
            Level.FAILED,
            f"{path}: {existing} is not writable by uid {os.getuid()}; run the drill as the "
            "user the monitor runs as, or set [shutdown] powerdown_flag to a writable path",
        )
    where = (
        f"{directory} is writable"
        if existing == directory
        else f"{existing} is writable (the monitor creates {directory} in it)"
    )
    volatile = is_volatile(path)
    fs = {True: "on tmpfs", False: "not on tmpfs", None: "file system unknown"}[volatile]
    if state is FlagState.SET:
        return Check(
            "flag",
            Level.WARNING,
            f"{path} is set already (left by an earlier shutdown; the monitor removes it "
            f"when it starts); {where}, {fs}",
        )
    return Check("flag", Level.OK, f"{path}: {where}, {fs}; not written")


# --- output ---------------------------------------------------------------------------------


def as_table(report: Report) -> str:
    """The report for a person: the checks, each timeline, the verdict."""
    lines = [
        f"pyups drill: {report.config} (rehearsal only: no FSD, no step, no command, no flag)",
        report.protection,
        "",
    ]
    name_width = max((len(c.name) for c in report.checks), default=5)
    lines.append(f"{'CHECK':<{name_width}}  {'RESULT':<7}  DETAIL")
    indent = name_width + 11
    for check in report.checks:
        head = f"{check.name:<{name_width}}  {check.level.value:<7}  "
        lines.extend(_wrap(check.detail, head, indent))
    for line in report.timelines:
        lines.append("")
        lines.append(
            f"TIMELINE as {line.role.value} for {', '.join(line.ups)}: worst case, from LB"
        )
        stage_width = max(len(s.name) for s in line.stages)
        lines.append(f"  {'AT':>8}  {'STAGE':<{stage_width}}  {'TAKES':>7}  NOTE")
        for at, stage in offsets(line.stages):
            takes = duration(stage.seconds)
            head = f"  {duration(at):>8}  {stage.name:<{stage_width}}  {takes:>7}  "
            lines.extend(_wrap(stage.note, head, stage_width + 23))
        lines.append(f"  total: {duration(line.worst_case)} from LB to the command's start")
    lines.append("")
    bad = failed(report.checks)
    warned = sum(1 for c in report.checks if c.level is Level.WARNING)
    note = f"; {warned} {'warning' if warned == 1 else 'warnings'}" if warned else ""
    if bad:
        names = ", ".join(c.name for c in bad)
        count = f"{len(bad)} {'check' if len(bad) == 1 else 'checks'} failed"
        lines.append(f"verdict: the plan cannot work: {count} ({names}){note}")
    else:
        lines.append(f"verdict: the plan can work{note}")
    return "\n".join(lines)


def _wrap(text: str, head: str, indent: int) -> list[str]:
    width = max(WIDTH, indent + 40)
    wrapped = textwrap.wrap(
        text,
        width,
        initial_indent=head,
        subsequent_indent=" " * indent,
        break_on_hyphens=False,
        break_long_words=False,
    )
    return wrapped or [head.rstrip()]


def as_json(report: Report) -> str:
    """The report as one JSON document; durations in seconds."""
    timelines = {t.role: t for t in report.timelines}
    upses = []
    for f in report.upses:
        worst = timelines[f.ups.role].worst_case
        verdict, margin = fit(worst, f.runtime.seconds)
        upses.append(
            {
                "ups": str(f.ups.address),
                "role": f.ups.role.value,
                "power": f.ups.power,
                "logins": f.logins,
                "clients": f.clients,
                "runtime": f.runtime.seconds,
                "runtime_source": f.runtime.source,
                "worst_case": worst,
                "verdict": verdict.value,
                "margin": margin,
            }
        )
    document = {
        "config": report.config,
        "ok": report.ok,
        "verdict": "the plan can work" if report.ok else "the plan cannot work",
        "protection": report.protection,
        "checks": [
            {"name": c.name, "ok": c.ok, "level": c.level.value, "detail": c.detail}
            for c in report.checks
        ],
        "timelines": [
            {
                "role": t.role.value,
                "ups": list(t.ups),
                "stages": [
                    {"at": at, "name": s.name, "seconds": s.seconds, "note": s.note}
                    for at, s in offsets(t.stages)
                ],
                "worst_case": t.worst_case,
            }
            for t in report.timelines
        ],
        "ups": upses,
    }
    return json.dumps(document, indent=2)
