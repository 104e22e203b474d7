"""The board run's comparison is verify's comparator: a wrong logit or class from the board
is counted and named by image and layer; a value the payload cannot hold is refused."""

import numpy as np
import pytest

from spikewright import flow
from spikewright.board.flow import _compare
from spikewright.golden.random_network import random_dense_network, random_pixels
from spikewright.hdl_gen.config import HwConfig
from spikewright.hdl_gen.emit import result_payload_layout
from spikewright.hdl_gen.plan import make_plan
from spikewright.sim.expected import decode_payload, encode_payload


@pytest.fixture(scope="module")
def build():
    rng = np.random.default_rng(3)
    network = random_dense_network(rng, max_width=8, neuron="if")
    result = flow.Build(network=network)
    result.plan = make_plan(network, HwConfig(lanes=2))
    result.images = flow.ImageSet("random", "test", 0, random_pixels(rng, network, 5),
                                  np.zeros(5, dtype=np.int64))
    return flow.golden(result)


def answers_of(golden):
    return {"classes": golden.predictions.tolist(), "logits": golden.logits.tolist()}


def test_results_equal_to_golden_compare_clean(build):
    report = _compare(build, answers_of(build.images.golden))
    assert report["mismatches"] == 0 and report["first_mismatch"] is None


def test_a_wrong_logit_from_the_board_is_named(build):
    answers = answers_of(build.images.golden)
    answers["logits"][3][1] += 1
    report = _compare(build, answers)
    assert report["mismatches"] == 1
    first = report["first_mismatch"]
    assert first["image"] == 3 and first["what"] == "class/logits"
    assert first["layer"] == build.plan.layers[-1].name and first["first_logit"] == 1


def test_the_payload_round_trips_and_refuses_what_it_cannot_hold(build):
    layout = result_payload_layout(build.plan)
    width = layout["logits"]["width"]
    logits = [-(1 << width - 1), (1 << width - 1) - 1] + [0] * (layout["logits"]["count"] - 2)
    assert decode_payload(encode_payload(1, logits, layout), layout) == (1, logits)
    with pytest.raises(ValueError, match="do not fit the result payload"):
        encode_payload(1, [1 << width - 1] + logits[1:], layout)


class _DeadLink:
    """A board whose link refuses every image frame (as a bad cable does): every image
    answered with ERROR until the retries run out."""

    def __init__(self, port, baud, *, classes, logit_width, pixels_per_image):
        self.pixels_per_image = pixels_per_image

    def info(self):
        return {"digest": _DeadLink.digest, "pixels_per_image": self.pixels_per_image}

    def classify(self, pixels, **_):
        return {"classes": [None] * len(pixels), "logits": [None] * len(pixels),
                "errors": {"bad checksum": 4 * len(pixels)}, "retries": 3 * len(pixels),
                "corrupted_on_purpose": 0, "frames_sent": 4 * len(pixels), "wall_s": 0.1,
                "bytes_sent": 0, "bytes_received": 0}

    def close(self):
        pass


def test_a_failing_link_is_an_error_not_a_difference_from_golden(build, monkeypatch):
    from spikewright.board import host
    from spikewright.board.flow import run_on_board
    _DeadLink.digest = build.network.digest()[:8]
    monkeypatch.setattr(host, "BoardLink", _DeadLink)
    with pytest.raises(host.LinkError, match=r"^the link failed, not the design: 5 of 5 "
                                             r"images got no result after 15 retries"):
        run_on_board(build, "icebreaker", port="/dev/null")
    assert "board_run" not in build.results
