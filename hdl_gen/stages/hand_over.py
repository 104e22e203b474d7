"""The hand-over between the stages of the dataflow design (:mod:`spikewright.hdl_gen.stream_plan`).

Stages meet at a hand-over register, or after a conv stage at a double-buffered word memory:
the producer drives ``out_bits`` (or writes its words) and ``out_full``; the consumer reads
``in_bits`` (or the words at ``in_addr``) while ``in_full`` is high and pulses
``in_release`` once it no longer needs them; the producer clears ``out_full`` the cycle
after and may hand over its next image from then on.
"""

__all__ = ["hand_over_states", "word_address_width"]


def word_address_width(words: int) -> int:
    """Bits of an address into a double-buffered word memory of ``words`` words per image
    (between a conv stage and the conv or dense stage after it)."""
    return max(1, (2 * words - 1).bit_length())


def hand_over_states(m, stage, hand_over) -> None:
    """The states that end a layer stage's image, inside its FSM: ``DONE`` (one cycle)
    releases the input and calls ``hand_over()`` if the consumer has released the previous
    output, else ``WAIT`` calls it as soon as it has; both go back to ``IDLE``. The stream
    model (:mod:`.stream_model`) counts this handshake."""
    with m.State("DONE"):
        m.d.comb += stage.in_release.eq(1)
        with m.If(~stage.out_full):
            hand_over()
            m.next = "IDLE"
        with m.Else():
            m.next = "WAIT"
    with m.State("WAIT"):
        with m.If(~stage.out_full):
            hand_over()
            m.next = "IDLE"
