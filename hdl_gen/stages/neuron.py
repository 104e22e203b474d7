"""The neuron datapath of every stage, lane by lane, named as :mod:`spikewright.golden.neurons`
names its stages (golden is the reference; these build the same integers in RTL)::

    charge:     V = V + I                        (I: the step's weight sum, then the bias)
    fire:       s = V >= theta
    reset:      V = V - theta  where s
    regenerate: U = (0 if s == 0 else U) + A   (then fire and reset against T*theta)

A stage holds ``P`` lanes; a word of lane values packs lane ``p`` at bits
``p * width .. (p + 1) * width``. Each function takes and returns one value per lane.
"""

from amaranth import Cat, Mux

__all__ = ["lanes_of", "charge", "fire", "reset", "regenerate"]


def lanes_of(word, lanes: int, width: int) -> list:
    """The ``lanes`` signed values of ``width`` bits packed in ``word``, lane 0 lowest."""
    return [word[p * width:(p + 1) * width].as_signed() for p in range(lanes)]


def charge(potential: list, *currents: list) -> list:
    """``V + I`` per lane, the terms added in the order given."""
    sums = []
    for p, value in enumerate(potential):
        for current in currents:
            value = value + current[p]
        sums.append(value)
    return sums


def fire(potential: list, threshold: list):
    """The spikes ``V >= theta`` of every lane, lane 0 the lowest bit."""
    return Cat(*(v >= theta for v, theta in zip(potential, threshold)))


def reset(potential: list, spikes, threshold: list) -> list:
    """``V - theta`` where a lane fired, ``V`` elsewhere (reset by subtraction)."""
    return [Mux(spikes[p], v - theta, v) for p, (v, theta) in
            enumerate(zip(potential, threshold))]


def regenerate(held: list, accumulated: list, first) -> list:
    """The charge of one ASG regeneration step: ``U + A``, with ``U`` the held potential
    (0 where ``first``, the first output step). The stage then fires against ``T*theta``
    and resets (the stage plans hold ``T * theta`` as an ASG layer's threshold)."""
    return charge([Mux(first, 0, u) for u in held], accumulated)
