"""The models' fast constructors build exactly what the dataclass constructors build."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from monitor.models import Evidence, RuleHit


def test_the_fast_constructors_equal_the_dataclass_ones() -> None:
    fast = Evidence.of("gaza", "Gaza", "body", 3, 7, "… in Gaza …", None)
    slow = Evidence("gaza", "Gaza", "body", 3, 7, "… in Gaza …", None)
    assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)
    assert dataclasses.asdict(fast) == dataclasses.asdict(slow)
    assert pickle.loads(pickle.dumps(fast)) == slow
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.start = 0  # type: ignore[misc]
    hit = RuleHit.of("r", "R", (fast,), ("mail",))
    assert hit == RuleHit("r", "R", (slow,), ("mail",)) and hash(hit) == hash(
        RuleHit("r", "R", (slow,), ("mail",)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        hit.rule_id = "x"  # type: ignore[misc]
