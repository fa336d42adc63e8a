"""pyups(8) and pyups.conf(5) document every command and every key, and render cleanly.

The entries are found again in what man(1) shows, not in the generator's own bookkeeping:
a command or a key the generator skipped, or rendered so that it cannot be found, fails.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pyups import manpages
from pyups.cli import build_parser
from pyups.config.schema import KEYS, KeySpec


def render(page: str, tmp_path: Path, name: str) -> str:
    """The page as man(1) shows it (groff, 200 columns, no hyphenation, plain text)."""
    if shutil.which("groff") is None:
        pytest.fail("groff (groff-base) is needed to render the man pages")
    source = tmp_path / name
    source.write_text(page)
    checked = subprocess.run(
        ["groff", "-man", "-Tutf8", "-ww", "-z", str(source)],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert checked.returncode == 0 and checked.stderr == "", checked.stderr
    shown = subprocess.run(
        ["groff", "-man", "-Tascii", "-P", "-cbou", "-rLL=200n", "-rHY=0", str(source)],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    return shown.stdout


def sections(text: str) -> dict[str, str]:
    """Top-level sections of a rendered page (headings start in column 0)."""
    found: dict[str, str] = {}
    current = ""
    for line in text.splitlines():
        if line and not line[0].isspace() and not line.startswith(("PYUPS", "pyups ")):
            current = line.strip()
            found[current] = ""
        elif current:
            found[current] += line + "\n"
    return found


def command_blocks(text: str) -> dict[str, str]:
    """The COMMANDS section of pyups(8) cut at its subsection headings (3 spaces in)."""
    blocks: dict[str, str] = {}
    current = ""
    for line in sections(text)["COMMANDS"].splitlines():
        match = re.fullmatch(r"   (\S+)", line)
        if match:
            current = match.group(1)
            blocks[current] = ""
        elif current:
            blocks[current] += line + "\n"
    return blocks


def test_every_command_and_each_of_its_options_has_an_entry(tmp_path: Path) -> None:
    parser = build_parser()
    text = render(manpages.command_page(parser), tmp_path, "pyups.8")
    blocks = command_blocks(text)
    commands = manpages.subcommands(parser)
    assert [name for name, _, _ in commands] == list(blocks)
    assert len(blocks) >= 10
    for name, help_line, sub in commands:
        block = blocks[name]
        assert " ".join(help_line.split()[1:4]) in block, (name, block)
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction) or action.help == argparse.SUPPRESS:
                continue
            for option in action.option_strings:
                entry = rf"^\s+(-\S+, )*{re.escape(option)}\b"
                assert re.search(entry, block, re.M), (name, option)
            if not action.option_strings:
                assert re.search(rf"^\s+{re.escape(str(action.metavar))}(\s|$)", block, re.M), name


def test_every_key_of_the_schema_has_an_entry_in_its_table(tmp_path: Path) -> None:
    text = render(manpages.config_page(), tmp_path, "pyups.conf.5")
    shown = sections(text)
    for key in KEYS:
        title = manpages.SECTIONS[key.section][0]
        entry = re.search(rf"^ {{7}}{re.escape(key.name)} \((.*)\)$", shown[title], re.M)
        assert entry, (key.section, key.name)
        if key.required:
            assert entry.group(1).endswith("required")
        elif key.default is not None:
            assert entry.group(1).endswith(f"default {key.default}"), entry.group(1)


def test_a_table_the_page_does_not_know_yet_still_gets_its_keys(tmp_path: Path) -> None:
    extra = KeySpec("alarms", "sound", "bool", "true", "beep when a UPS goes on battery")
    text = render(manpages.config_page((*KEYS, extra)), tmp_path, "pyups.conf.5")
    assert "sound (bool, default true)" in sections(text)["[alarms]"]


def test_text_that_roff_would_eat_is_escaped() -> None:
    assert manpages.roff(".TH x\n'a\\b-c") == "\\&.TH x\n\\&'a\\eb\\-c"


def test_the_module_writes_both_pages(tmp_path: Path) -> None:
    assert manpages.main([str(tmp_path / "man")]) == 0
    assert sorted(p.name for p in (tmp_path / "man").iterdir()) == ["pyups.8", "pyups.conf.5"]
    assert (tmp_path / "man/pyups.8").read_text().startswith('.TH PYUPS 8 ""')
    assert os.access(tmp_path / "man/pyups.conf.5", os.R_OK)
