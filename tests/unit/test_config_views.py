"""Unit tests for the protection views: a configuration as ``core.protection`` and
``core.sequence`` take it."""

from __future__ import annotations

from pyups.address import Server, UpsAddress
from pyups.config import config_from_text, default_config
from pyups.config.views import protection_of, sequence_plan_of
from pyups.core.protection import Criteria, Protected, Role, assess
from pyups.core.sequence import SequencePlan, Step
from pyups.core.snapshot import Snapshot
from pyups.core.tracker import Timing, initial, step

LOCAL = Server("localhost", 3493)
FAR = Server("192.0.2.10", 3493)

# Two UPSes on redundant supplies, this host primary for one and secondary of the other, a
# third watched only, and one more secondary that cannot log in.
FLEET = f"""
[monitor]
dry_run = true
[[ups]]
name = "ups1"
role = "primary"
username = "mon"
password = "x"
[[ups]]
name = "ups2"
server = "{FAR}"
username = "mon"
password = "x"
[[ups]]
name = "watched"
role = "primary"
power = 0
username = "mon"
password = "x"
[[ups]]
name = "anonymous"
server = "{FAR}"
[shutdown]
min_supplies = 2
command = ["/bin/true"]
before = [{{ exec = ["/usr/local/sbin/stop-vms"], timeout = "2m" }}]
final_delay = "1s"
host_sync = "20s"
lowbatt_for = "3s"
linger = "10s"
powerdown_flag = "/run/test/flag"
"""


def address(name: str, server: Server = LOCAL) -> UpsAddress:
    return UpsAddress(name, server)


def test_protection_of_gives_every_ups_with_its_role_and_power() -> None:
    protected, criteria, min_supplies = protection_of(config_from_text(FLEET))
    assert protected == (
        Protected(address("ups1"), Role.PRIMARY, 1),
        Protected(address("ups2", FAR), Role.SECONDARY, 1),
        Protected(address("watched"), Role.PRIMARY, 0),
        Protected(address("anonymous", FAR), Role.SECONDARY, 1),
    )
    assert criteria == Criteria(lowbatt_for=3.0, host_sync=20.0)
    assert min_supplies == 2


def test_the_default_criteria_are_the_cores() -> None:
    protected, criteria, min_supplies = protection_of(default_config())
    assert (protected, criteria, min_supplies) == ((), Criteria(), 1)


def test_protection_of_feeds_assess_directly() -> None:
    config = config_from_text('[[ups]]\nname = "eaton800"\nrole = "primary"\n')
    protected, criteria, min_supplies = protection_of(config)
    ups = address("eaton800")
    state = initial(ups.name, ups.server)
    snap = Snapshot(ups.name, ups.server, 10.0, vars={"ups.status": "OB LB"})
    state, _ = step(state, snap, Timing())
    result, _ = assess(protected, {ups: state}, {}, 10.0, criteria, min_supplies)
    assert result.supplies.go_down
    assert result.supplies.critical == (ups,)


def test_the_sequence_plan_takes_shutdown_and_the_roles_of_the_upses_that_feed_this_host() -> None:
    assert sequence_plan_of(config_from_text(FLEET)) == SequencePlan(
        command=("/bin/true",),
        primary_for=(address("ups1"),),  # not "watched": power 0 takes no part
        sessions=(address("ups2", FAR),),  # not "anonymous": without a username, no LOGIN
        before=(Step(("/usr/local/sbin/stop-vms",), 120.0),),
        host_sync=20.0,
        final_delay=1.0,
        linger=10.0,
        flag_path="/run/test/flag",
        dry_run=True,
    )


def test_the_plan_of_the_defaults_is_the_cores_default_plan_with_the_default_flag() -> None:
    plan = sequence_plan_of(default_config())
    assert plan == SequencePlan(("systemctl", "poweroff"))
    assert plan.flag is None  # primary for nothing: no flag


def test_the_flag_is_written_only_as_primary_and_never_when_empty() -> None:
    primary = '[[ups]]\nname = "a"\nrole = "primary"\n'
    alone = sequence_plan_of(config_from_text(primary))
    assert alone.flag == "/run/pyups/killpower"  # no login: no FSD, but the flag all the same
    assert alone.primary_for == ()
    counted = config_from_text(primary + 'username = "u"\npassword = "p"\n', mode=0o600)
    assert sequence_plan_of(counted).primary_for == (address("a"),)
    no_flag = config_from_text(primary + '[shutdown]\npowerdown_flag = ""\n')
    assert sequence_plan_of(no_flag).flag_path is None
    assert sequence_plan_of(no_flag).flag is None
    secondary = config_from_text('[[ups]]\nname = "a"\nusername = "u"\n')
    assert sequence_plan_of(secondary).flag is None
    assert sequence_plan_of(secondary).sessions == (address("a"),)


def test_a_primary_with_power_zero_sets_no_fsd_and_writes_no_flag() -> None:
    config = config_from_text('[[ups]]\nname = "a"\nrole = "primary"\npower = 0\n')
    plan = sequence_plan_of(config)
    assert plan.primary_for == ()
    assert plan.flag is None
