"""Manual pages, written from the sources the program itself uses.

``pyups(8)`` is read off the argument parser (``pyups.cli.build_parser``): every command with
its help line, arguments and options. ``pyups.conf(5)`` is read off the configuration schema
(``pyups.config.schema.KEYS``): every key of every table with its kind, default and meaning.
Neither page has text of its own about a command or a key, so a new one cannot be missed.

``python -m pyups.manpages DIR`` writes ``DIR/pyups.8`` and ``DIR/pyups.conf.5`` (the
Debian package does this at build time with the interpreter it ships).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from pyups import __version__
from pyups.config.schema import DEFAULT_CONFIG_PATH, KEYS, KeySpec

# Table headings of pyups.conf(5), in the order a file usually has them; a section of the
# schema that is not listed here still gets a page section, after these, named after it.
SECTIONS = {
    "monitor": ("[monitor]", "How often and how patiently upsd is polled."),
    "metrics": ("[metrics]", "The Prometheus endpoint."),
    "ups": ("[[ups]]", "One table per monitored UPS."),
    "shutdown": ("[shutdown]", "When and how this host is shut down (protection)."),
    "events": ("[events.NAME]", "Per-event settings; NAME is an event name, e.g. ONBATT."),
    "rule": ("[[rule]]", "One table per rule: a condition or events, and what to do."),
}


def roff(text: str) -> str:
    """Text made safe for roff: backslashes, hyphens that are minus signs, leading dots."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    lines = [("\\&" + line) if line.startswith((".", "'")) else line for line in text.split("\n")]
    return "\n".join(lines)


def _bold(text: str) -> str:
    return f"\\fB{roff(text)}\\fR"


def _italic(text: str) -> str:
    return f"\\fI{roff(text)}\\fR"


def _header(name: str, section: int, title: str) -> list[str]:
    return [
        f'.TH {name.upper()} {section} "" "pyups {__version__}" "{title}"',
        ".SH NAME",
    ]


def subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, help line, parser) of every sub-command, in the parser's order."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            return [(name, helps.get(name, ""), sub) for name, sub in action.choices.items()]
    return []


def _shown(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The parser's arguments a user can give, without -h and suppressed ones."""
    return [
        a
        for a in parser._actions
        if a.help != argparse.SUPPRESS
        and not isinstance(a, argparse._HelpAction | argparse._SubParsersAction)
    ]


def _metavar(action: argparse.Action) -> str:
    if isinstance(action.metavar, str):
        return action.metavar
    return action.dest.upper()


def _usage(name: str, parser: argparse.ArgumentParser) -> str:
    words = [_bold(f"pyups {name}")]
    for action in _shown(parser):
        if action.option_strings:
            option = _bold(action.option_strings[0])
            if action.nargs != 0:
                option += " " + _italic(_metavar(action))
            words.append(f"[{option}]")
        else:
            word = _italic(_metavar(action))
            if action.nargs in ("?", "*"):
                word = f"[{word}]" + ("..." if action.nargs == "*" else "")
            elif action.nargs == "+":
                word += "..."
            words.append(word)
    return " ".join(words)


def _argument_entries(parser: argparse.ArgumentParser) -> list[str]:
    lines: list[str] = []
    for action in _shown(parser):
        if action.option_strings:
            names = ", ".join(_bold(o) for o in action.option_strings)
            if action.nargs != 0:
                names += " " + _italic(_metavar(action))
        else:
            names = _italic(_metavar(action))
        lines += [".TP", names, roff(action.help or "")]
    return lines


def command_page(parser: argparse.ArgumentParser) -> str:
    """pyups(8): one subsection per command of ``parser``."""
    commands = subcommands(parser)
    lines = _header("pyups", 8, "System Administration")
    lines += [
        f"pyups \\- {roff(parser.description or 'UPS monitor for NUT')}",
        ".SH SYNOPSIS",
        f"{_bold('pyups')} {_italic('COMMAND')} [{_italic('ARGUMENTS')}]",
        ".br",
        f"{_bold('pyups --version')}",
        ".SH DESCRIPTION",
        "pyups polls UPSes through NUT's upsd, writes every event to the systemd journal,",
        "runs the rules of its configuration file, and shuts the host down when its UPSes",
        "can no longer carry it. As a service it runs as",
        f"{_bold('pyups run')} under systemd (pyups.service).",
        ".PP",
        "Its configuration is described in",
        ".BR pyups.conf (5).",
        ".SH COMMANDS",
    ]
    for name, help_line, sub in commands:
        lines += [
            f".SS {_bold(name)}",
            roff(help_line[:1].upper() + help_line[1:]) + ("" if help_line.endswith(".") else "."),
            ".PP",
            _usage(name, sub),
        ]
        entries = _argument_entries(sub)
        if entries:
            lines += [".RS", *entries, ".RE"]
    lines += [
        ".SH EXIT STATUS",
        "0 on success, 1 on a failure the command reports, 2 on a usage error,",
        "78 on a configuration error (the unit does not restart on it).",
        ".SH ENVIRONMENT",
        ".TP",
        _bold("PYUPS_CONFIG"),
        "the configuration file when no",
        f"{_bold('--config')} is given.",
        ".SH FILES",
        ".TP",
        _italic("/etc/pyups/pyups.conf"),
        "the configuration (see",
        ".BR pyups.conf (5)).",
        ".TP",
        _italic("/var/lib/pyups/state.json"),
        "what pyups keeps across restarts.",
        ".TP",
        _italic("/run/pyups/killpower"),
        "the power-down flag read by the late-shutdown hook.",
        ".SH SEE ALSO",
        ".BR pyups.conf (5),",
        ".BR upsd (8),",
        ".BR upsmon (8),",
        ".BR systemctl (1),",
        ".BR journalctl (1)",
    ]
    return "\n".join(lines) + "\n"


def _sections(keys: Iterable[KeySpec]) -> list[str]:
    found: list[str] = []
    for key in keys:
        if key.section not in found:
            found.append(key.section)
    known = [s for s in SECTIONS if s in found]
    return known + [s for s in found if s not in SECTIONS]


def config_page(keys: Sequence[KeySpec] = KEYS) -> str:
    """pyups.conf(5): one section per table of the schema, one entry per key."""
    specs = keys
    lines = _header("pyups.conf", 5, "File Formats")
    lines += [
        "pyups.conf \\- configuration of the pyups UPS monitor",
        ".SH SYNOPSIS",
        _italic(DEFAULT_CONFIG_PATH),
        ".SH DESCRIPTION",
        "A TOML file read by",
        ".BR pyups (8)",
        f"at start and on reload (SIGHUP). {_bold('pyups check-config')} reports every error",
        "with its file, line and key. A file that holds a password must not be readable by",
        "group or others (mode 600). Durations are seconds or strings such as",
        '"500ms", "90s", "5m", "1h30m".',
        ".PP",
        "Below, each key is shown with its kind and, where it has one, its default.",
    ]
    for section in _sections(specs):
        title, about = SECTIONS.get(section, (f"[{section}]", ""))
        lines += [f".SH {roff(title)}"]
        if about:
            lines += [roff(about)]
        for key in (k for k in specs if k.section == section):
            head = f"{_bold(key.name)} ({roff(key.kind.replace('_', ' '))}"
            if key.required:
                head += ", required"
            elif key.default is not None:
                head += f", default {_bold(key.default)}"
            lines += [".TP", head + ")", roff(key.doc)]
    lines += [
        ".SH FILES",
        _italic(DEFAULT_CONFIG_PATH),
        ".SH SEE ALSO",
        ".BR pyups (8),",
        ".BR upsd.users (5),",
        ".BR upsmon.conf (5)",
    ]
    return "\n".join(lines) + "\n"


def write(directory: Path) -> list[Path]:
    """Write pyups.8 and pyups.conf.5 into ``directory``; their paths."""
    from pyups.cli import build_parser

    directory.mkdir(parents=True, exist_ok=True)
    pages = {
        "pyups.8": command_page(build_parser()),
        "pyups.conf.5": config_page(),
    }
    written = []
    for name, text in pages.items():
        path = directory / name
        path.write_text(text)
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m pyups.manpages DIRECTORY", file=sys.stderr)
        return 2
    for path in write(Path(args[0])):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
