"""What a reload keeps: each UPS's tracker state, and the timing of each unchanged rule.

A UPS still configured keeps its state (no second STARTUP or ONBATT); a rule keeps its timing
(how long its condition has held, when it last fired) only if its whole definition is the
same, so an edited rule starts afresh.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from pyups.address import UpsAddress
from pyups.core.engine import EngineState
from pyups.core.rules import Rule


def carry_over(
    states: Mapping[UpsAddress, EngineState], old: Sequence[Rule], new: Sequence[Rule]
) -> dict[UpsAddress, EngineState]:
    """The states to start the new pollers with, rules' timing kept only for unchanged rules."""
    kept = {rule.name for rule in new if rule in old}
    return {
        ups: replace(state, rules={n: r for n, r in state.rules.items() if n in kept})
        for ups, state in states.items()
    }
