"""The harness itself: a system boots on a copy of / and never touches the real one."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.harness.system import LAUNCHER, BootError, System

Boot = Callable[..., System]


def test_systemd_runs_on_a_copy_and_leaves_the_real_tmp_alone(boot: Boot) -> None:
    marker = Path("/tmp") / f"pyups-system-marker-{uuid.uuid4().hex}"
    marker.write_text("still here\n")
    try:
        system = boot()
        assert system.run("findmnt", "-n", "-o", "FSTYPE", "/").stdout.strip() == "overlay"
        assert system.run("systemd-detect-virt", "--container").stdout.strip() == "container-other"
        assert not system.path(str(marker)).exists()  # its /tmp is a tmpfs of its own
        written = system.path("/etc/pyups-system-test")
        written.write_text("only in the copy\n")
        assert system.poweroff() == -2  # PID 1 ends by the kernel's SIGINT after reboot()
        assert marker.read_text() == "still here\n"
        assert not Path("/etc/pyups-system-test").exists()
    finally:
        marker.unlink()


def test_the_launcher_refuses_to_start_systemd_outside_its_namespaces() -> None:
    """Before it mounts anything it checks that it is PID 1 (a PID namespace of its own) in
    a mount namespace other than the host's."""
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "PYUPS_HOST_MNTNS": os.readlink("/proc/self/ns/mnt"),
    }
    refusals = {
        "not PID 1 of a new PID namespace": [],
        "in the host's mount namespace": ["unshare", "--fork", "--pid"],
    }
    for reason, prefix in refusals.items():
        result = subprocess.run(
            [*prefix, "sh", "-c", LAUNCHER],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 97, result
        assert result.stderr == f"pyups-system launcher: {reason}\n"


def test_a_failed_boot_says_why_with_the_console(tmp_path: Path, installed_layer: Path) -> None:
    unit = "/etc/systemd/system/pyups-broken.service"
    broken = "[Service]\nExecStart=/bin/false\n"
    system = System(tmp_path, layers=[installed_layer], files={unit: broken})
    wants = system.layers[-1] / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True)
    (wants / "pyups-broken.service").symlink_to(unit)
    try:
        with pytest.raises(BootError) as failed:
            system.boot()
    finally:
        system.kill()
    message = str(failed.value)
    assert message.startswith("the system is 'degraded'; failed units:\npyups-broken.service ")
    assert "\n---- console ----\n" in message
    assert "pyups-broken.service: Failed with result 'exit-code'." in message


def test_a_late_shutdown_hook_runs_with_poweroff_as_its_argument(boot: Boot) -> None:
    """systemd unmounts bind mounts before it runs the hooks: they are seen on the console."""
    system = boot()
    hook = system.path("/usr/lib/systemd/system-shutdown/pyups-test-hook")
    hook.write_text('#!/bin/sh\necho "pyups-test-hook ran: $*" > /dev/console\n')
    hook.chmod(0o755)
    assert system.poweroff() == -2
    assert system.console is not None
    assert "pyups-test-hook ran: poweroff\n" in system.console.text()
