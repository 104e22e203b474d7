"""Copies of a control register (:mod:`spikewright.hdl_gen.stages.replicas`): how many, and
which are marked for synthesis to keep apart."""

import pytest

from spikewright.hdl_gen.stages.replicas import CLEAR_LANES, copies, replicas


@pytest.mark.parametrize("lanes, per, count", [(1, 16, 1), (16, 16, 1), (17, 16, 2),
                                                (768, 16, 48), (72, 64, 2), (1024, 64, 16)])
def test_one_copy_serves_at_most_per_lanes(lanes, per, count):
    assert copies(lanes, per) == count
    made = replicas("enable", lanes, per)
    assert [signal.name for signal in made] == [f"enable_{b}" for b in range(count)]


def test_only_several_copies_are_marked_replica_and_all_keep_their_width():
    """One copy has nothing to be kept apart from: it carries ``keep`` only, so a design of
    narrow stages gets no replica step in Yosys (:func:`spikewright.synth.replica_script`)."""
    (single,) = replicas("clear", CLEAR_LANES)
    assert single.attrs == {"keep": 1}
    several = replicas("piece", 3 * CLEAR_LANES, width=2)
    assert all(s.attrs == {"keep": 1, "replica": 1} and len(s) == 2 for s in several)
