"""packaging/prometheus/: the alerting rules, checked and unit-tested with the real promtool.

- ``promtool check rules`` on pyups-alerts.yml;
- ``promtool test rules`` on pyups-alerts.test.yml, the rules' own unit tests;
- and that those unit tests can fail: a copy with one expected annotation altered must
  not pass, so they really compare the rendered text.

promtool comes with Debian's ``prometheus`` package.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "packaging" / "prometheus" / "pyups-alerts.yml"
RULE_TESTS = ROOT / "packaging" / "prometheus" / "pyups-alerts.test.yml"


def promtool(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    """Run promtool from the repository root; stdout and stderr together in ``stdout``."""
    program = shutil.which("promtool")
    assert program, "promtool not found: apt-get install prometheus"
    return subprocess.run(
        [program, *(str(a) for a in argv)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        check=False,
    )


def test_promtool_check_rules_accepts_the_four_alerts() -> None:
    result = promtool("check", "rules", RULES.relative_to(ROOT))
    assert result.returncode == 0, result.stdout
    assert "SUCCESS: 4 rules found" in result.stdout, result.stdout


def test_promtool_test_rules_passes_the_rule_unit_tests() -> None:
    result = promtool("test", "rules", RULE_TESTS.relative_to(ROOT))
    assert result.returncode == 0, result.stdout
    assert "SUCCESS" in result.stdout and "FAILED" not in result.stdout, result.stdout


@pytest.mark.parametrize(
    ("alert", "summary"),
    [
        ("UPSOnBattery", "UPS eaton800 is on battery"),
        ("UPSLowBattery", "UPS eaton800 battery is low"),
        ("UPSReplaceBattery", "UPS eaton800 needs a new battery"),
        ("UPSUnreachable", "UPS eaton800 is not answering"),
    ],
)
def test_the_rule_unit_tests_fail_when_an_expected_annotation_is_altered(
    tmp_path: Path, alert: str, summary: str
) -> None:
    """The copy sits next to a copy of the rules (rule_files is relative to the test
    file); an unaltered copy passes there, so the failure is the altered text alone."""
    shutil.copy(RULES, tmp_path / RULES.name)
    text = RULE_TESTS.read_text()
    expected = f'summary: "{summary}"'
    assert expected in text
    unaltered = tmp_path / "unaltered.test.yml"
    unaltered.write_text(text)
    altered_summary = summary.replace("eaton800", "apc1500")
    altered = tmp_path / "altered.test.yml"
    altered.write_text(text.replace(expected, f'summary: "{altered_summary}"', 1))

    control = promtool("test", "rules", unaltered)
    assert control.returncode == 0, control.stdout

    result = promtool("test", "rules", altered)
    assert result.returncode != 0, result.stdout
    assert "FAILED" in result.stdout, result.stdout
    assert f"alertname: {alert}," in result.stdout, result.stdout
    assert f'summary="{altered_summary}"' in result.stdout, result.stdout
    assert f'summary="{summary}"' in result.stdout, result.stdout
