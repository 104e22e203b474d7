"""The argmax stage: the class of each image's logits."""

from amaranth import Cat, Module, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["ArgmaxStage"]


class ArgmaxStage(wiring.Component):
    """The class of each image's logits: the first index of the largest, one class per cycle,
    offered on ``result`` with the logits until taken. Cycles: one to take the logits
    (releasing the readout's output), one per class, then the result is valid. ``shift``:
    the candidate comes from a shifted copy of the logits, not a class multiplexer (for
    fast clocks, :func:`.stream_plan.prefetches`).

    Attributes
    ----------
    logits, in_full, in_release : In, In(1), Out(1)
        The readout's hand-over.
    result : Out(stream.Signature(layout))
        ``cls`` and ``logits``.
    """

    def __init__(self, classes: int, logit_width: int, layout, *, shift: bool = True):
        self._classes, self._width, self._shift = classes, logit_width, shift
        super().__init__({
            "logits": In(data.ArrayLayout(signed(logit_width), classes)),
            "in_full": In(1),
            "in_release": Out(1),
            "result": Out(stream.Signature(layout)),
        })

    def elaborate(self, platform):
        m = Module()
        classes = self._classes
        held = [Signal(signed(self._width), name=f"held_{c}") for c in range(classes)]
        scan = Signal(range(max(classes, 2)))
        best = Signal(signed(self._width))
        best_class = Signal(len(self.result.payload.cls))
        if self._shift:
            # the logits again, shifted one class per cycle: the candidate is always
            # queue[0], so no class multiplexer lies before the comparison
            queue = [Signal(signed(self._width), name=f"queue_{c}") for c in range(classes)]
            candidate = queue[0]
        else:
            queue = []
            candidate = Signal(signed(self._width))
            with m.Switch(scan):
                for c in range(classes):
                    with m.Case(c):
                        m.d.comb += candidate.eq(held[c])
        m.d.comb += [self.result.payload.cls.eq(best_class),
                     self.result.payload.logits.eq(Cat(*held))]
        with m.If(self.result.valid & self.result.ready):
            m.d.sync += self.result.valid.eq(0)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.in_full & ~self.result.valid):
                    m.d.comb += self.in_release.eq(1)
                    m.d.sync += [held[c].eq(self.logits[c]) for c in range(classes)]
                    m.d.sync += [queue[c].eq(self.logits[c]) for c in range(len(queue))]
                    m.d.sync += scan.eq(0)
                    m.next = "SCAN"
            with m.State("SCAN"):
                with m.If((scan == 0) | (candidate > best)):
                    m.d.sync += [best.eq(candidate), best_class.eq(scan)]
                m.d.sync += [scan.eq(scan + 1)] + [queue[c].eq(queue[c + 1])
                                                   for c in range(len(queue) - 1)]
                with m.If(scan == classes - 1):
                    m.d.sync += self.result.valid.eq(1)
                    m.next = "IDLE"
        return m
