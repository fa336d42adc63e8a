"""The command line loads only the command it runs (pyups.cli names functions, not modules)."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from pyups import cli
from pyups.commands import common, daemon, killpower
from pyups.config import schema


def test_the_defaults_shown_in_help_are_the_commands_own() -> None:
    assert cli.DEFAULT_PIDFILE == daemon.DEFAULT_PIDFILE
    assert cli.DEFAULT_FLAG == killpower.DEFAULT_FLAG
    assert common.DEFAULT_CONFIG_PATH == schema.DEFAULT_CONFIG_PATH


def test_every_sub_command_names_a_function_that_exists() -> None:
    parser = cli.build_parser()
    names = {
        sub.get_default("func")
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for sub in action.choices.values()
    }
    assert names and all(isinstance(n, str) for n in names)
    for name in names:
        assert callable(cli.command(name)), name


def loaded_by(*argv: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``pyups ARGV``."""
    code = (
        "import sys\nfrom pyups.cli import main\ntry:\n    main(sys.argv[1:])\n"
        "except SystemExit:\n    pass\nprint('\\n'.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, check=False
    )
    return set(result.stderr.split())


@pytest.mark.parametrize(
    "argv", [("--help",), ("status", "nosuchups@127.0.0.1:1", "--timeout", "0.2s")]
)
def test_help_and_queries_load_neither_the_monitor_nor_the_rule_grammar(
    argv: tuple[str, ...],
) -> None:
    modules = loaded_by(*argv)
    assert "pyups.cli" in modules
    for heavy in ("lark", "pyups.service.monitor", "pyups.sim", "daemon", "systemd.journal"):
        assert heavy not in modules, f"pyups {' '.join(argv)} loaded {heavy}"


def test_run_without_a_rule_condition_does_not_build_the_grammar() -> None:
    from pyups.config import config_from_text

    code = (
        "import sys\nfrom pyups.config import config_from_text\n"
        "config_from_text('[[ups]]\\nname = \"u\"\\n[[rule]]\\nname = \"r\"\\non = [\"ONBATT\"]\\n"
        "do = []\\n')\nprint('lark' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.stdout.strip() == "False", result.stderr
    assert config_from_text('[[rule]]\nname = "r"\nif = "OB"\n').rules[0].condition is not None


UNRECOGNIZED = "error: unrecognized arguments:"


@pytest.mark.parametrize(
    ("argv", "usage", "error"),
    [
        (("events", "--bogus"), "usage: pyups events ", f"pyups events: {UNRECOGNIZED} --bogus"),
        (
            ("status", "eaton800", "ups.status", "extra"),
            "usage: pyups status ",
            f"pyups status: {UNRECOGNIZED} extra",
        ),
        (("--bogus", "check-config"), "usage: pyups [-h]", f"pyups: {UNRECOGNIZED} --bogus"),
    ],
)
def test_an_unknown_argument_is_refused_with_the_usage_of_the_command_it_was_given_to(
    argv: tuple[str, ...], usage: str, error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(list(argv))
    assert caught.value.code == common.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith(usage)
    assert err.rstrip().endswith(error)
