"""The board's host link: the generated design behind a UART speaking the framed protocol of
:mod:`.protocol` (what it answers to what: docs/board-link.md, "What the board does").

Receive: a frame parser; an image's pixels go to a FIFO in front of the core as they arrive
(packed into beats of the core's ``pixels_per_beat``), zeros where a pixel is lost, so the
core always sees whole images; a ``WEIGHTS`` frame's words go to the core's ``weights``
stream once its header checksum holds. Transmit: one answer per frame, in the order the
frames came (a FIFO of tags: each frame's sequence number and error code).
"""

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import fifo, wiring
from amaranth.lib.wiring import In, Out

from . import protocol as proto
from ..plan import NetworkPlan
from .uart import UartRx, UartTx

__all__ = ["UartLink", "TAG_DEPTH", "LINK_MODULE", "pixel_fifo_depth", "link_for",
           "link_verilog"]

#: answers waiting to be sent (frames received whose answer has not gone out); a host keeps
#: at most this many frames unanswered (``board run --window``)
TAG_DEPTH = 32
#: tag kinds
_IMAGE, _INFO, _ERROR, _LOADED = 0, 1, 2, 3


def pixel_fifo_depth(pixels_per_image: int) -> int:
    """The pixel FIFO holds one image: ``pixels_per_image`` rounded up to a power of two."""
    return 1 << max(4, (pixels_per_image - 1).bit_length())


def _crc_of_bit(bit: int) -> int:
    """The CRC register after one byte step from ``1 << bit`` (``protocol.crc8``)."""
    value = 1 << bit
    for _ in range(8):
        value = ((value << 1) ^ proto.CRC_POLY) & 0xFF if value & 0x80 else (value << 1) & 0xFF
    return value


def crc8_step(crc, byte):
    """The CRC of ``crc``'s bytes followed by ``byte`` (``protocol.crc8``), as logic: the
    step is linear over GF(2), so each bit is the XOR of the bits of ``crc ^ byte`` whose
    own step sets it (a flat XOR per bit, not eight nested multiplexers)."""
    value = crc ^ byte
    bits = []
    for out in range(8):
        terms = [value[j] for j in range(8) if _crc_of_bit(j) >> out & 1]
        bit = terms[0]
        for term in terms[1:]:
            bit = bit ^ term
        bits.append(bit)
    return Cat(*bits)


class UartLink(wiring.Component):
    """``core`` (the generated top or its instance) behind a UART at ``divisor`` clock cycles
    per bit (module docstring). ``digest``: the first 4 bytes of the network's IR digest,
    sent in ``INFO_REPLY``.

    Attributes
    ----------
    rx : In(1)
        The line from the host (idles high).
    tx : Out(1)
        The line to the host.
    last_class : Out(8)
        The class of the last ``RESULT`` sent (for LEDs).
    error_seen : Out(1)
        Set when an ``ERROR`` frame is sent, cleared by the next ``RESULT``.
    """

    rx: In(1)
    tx: Out(1)
    last_class: Out(8)
    error_seen: Out(1)

    def __init__(self, plan: NetworkPlan, core, divisor: int, digest: bytes):
        if plan.classes > 256:
            raise ValueError(f"the link sends a class in one byte: at most 256 classes, not "
                             f"{plan.classes}")
        if len(digest) != 4:
            raise ValueError("digest must be 4 bytes")
        self._plan, self._core, self._divisor, self._digest = plan, core, divisor, digest
        self._pixels = plan.encoder.pixel_shape[0] * plan.encoder.positions
        self._beat = plan.config.pixels_per_beat  # it divides an image (make_plan checks)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        plan, pixels_per_image, beat = self._plan, self._pixels, self._beat
        m.submodules.core = core = self._core
        m.submodules.receiver = receiver = UartRx(self._divisor)
        m.submodules.transmitter = transmitter = UartTx(self._divisor)
        m.d.comb += [receiver.rx.eq(self.rx), self.tx.eq(transmitter.tx)]
        m.submodules.pixel_fifo = pixel_fifo = fifo.SyncFIFOBuffered(
            width=8, depth=pixel_fifo_depth(pixels_per_image))
        m.submodules.tags = tags = fifo.SyncFIFOBuffered(width=8 + 2 + 3, depth=TAG_DEPTH)
        weights = core.weights if "weights" in core.signature.members else None
        self._receive(m, receiver, pixel_fifo, tags, weights)
        self._pack(m, pixel_fifo, core.pixels, beat)
        self._transmit(m, tags, core.result, transmitter.data)
        return m

    def _receive(self, m, receiver, pixel_fifo, tags, weights=None):
        pixels_per_image = self._pixels
        byte, got, broken = receiver.byte, receiver.done, receiver.frame_error
        kind, seq, crc, code = Signal(8), Signal(8), Signal(8), Signal(3)
        count = Signal(range(max(pixels_per_image, 2 * proto.WEIGHT_WORDS) + 1))
        owed = Signal(range(2 * pixels_per_image + 1))  # zero pixels the core is still owed
        idle_limit = proto.IDLE_BYTES * 10 * self._divisor
        idle = Signal(range(idle_limit + 1))
        timed_out = idle == idle_limit
        owe, pay = Signal(range(pixels_per_image + 1)), Signal()
        m.d.sync += owed.eq(owed + owe - pay)
        if weights is not None:
            with m.If(weights.valid & weights.ready):
                m.d.sync += weights.valid.eq(0)

        tag_seq, tag_kind, tag_code, tag_push = Signal(8), Signal(2), Signal(3), Signal()
        m.d.comb += [tags.w_data.eq(Cat(tag_seq, tag_kind, tag_code)), tags.w_en.eq(tag_push)]

        def answer(kind_of_tag, error_code, sequence=seq):
            m.d.comb += [tag_push.eq(1), tag_seq.eq(sequence), tag_kind.eq(kind_of_tag),
                         tag_code.eq(error_code)]

        # a received pixel goes to the FIFO unless zeros are owed before it or it is full
        pixel_in = Signal()
        with m.If(pixel_in):
            with m.If((owed == 0) & pixel_fifo.w_rdy):
                m.d.comb += [pixel_fifo.w_en.eq(1), pixel_fifo.w_data.eq(byte)]
            with m.Else():
                m.d.comb += owe.eq(1)
                with m.If(code == 0):
                    m.d.sync += code.eq(proto.OVERRUN)
        with m.Elif((owed != 0) & pixel_fifo.w_rdy):
            m.d.comb += [pixel_fifo.w_en.eq(1), pixel_fifo.w_data.eq(0), pay.eq(1)]

        with m.FSM(name="receive"):
            with m.State("HUNT"):
                with m.If(got & (byte == proto.HOST_SYNC)):
                    m.d.sync += [crc.eq(0), code.eq(0)]
                    m.next = "TYPE"
            with m.State("TYPE"):
                with m.If(got):
                    m.d.sync += [kind.eq(byte), crc.eq(crc8_step(crc, byte))]
                    m.next = "SEQ"
                with m.Elif(broken | timed_out):
                    m.next = "HUNT"
            with m.State("SEQ"):
                with m.If(got):
                    m.d.sync += [seq.eq(byte), crc.eq(crc8_step(crc, byte)), count.eq(0)]
                    with m.If(kind == proto.IMAGE):
                        m.next = "PIXELS"
                    with m.Elif(kind == proto.INFO):
                        m.next = "CHECK"
                    if weights is not None:
                        with m.Elif(kind == proto.WEIGHTS):
                            m.next = "HEADER"
                    with m.Else():
                        answer(_ERROR, proto.UNKNOWN_TYPE, byte)
                        m.next = "HUNT"
                with m.Elif(broken | timed_out):
                    m.next = "HUNT"
            with m.State("PIXELS"):
                with m.If(got | broken):
                    m.d.sync += count.eq(count + 1)
                    with m.If(count == pixels_per_image - 1):
                        m.next = "CHECK"
                with m.If(got):
                    m.d.comb += pixel_in.eq(1)
                    m.d.sync += crc.eq(crc8_step(crc, byte))
                with m.Elif(broken):
                    m.d.comb += owe.eq(1)
                    m.d.sync += code.eq(proto.FRAMING)
                with m.Elif(timed_out):
                    m.d.comb += owe.eq(pixels_per_image - count)
                    answer(_IMAGE, proto.TRUNCATED)
                    m.next = "HUNT"
            if weights is not None:
                self._receive_weights(m, weights, byte, got, broken, timed_out, crc, code,
                                      count, answer)
            with m.State("CHECK"):
                tag_of_kind = Mux(kind == proto.IMAGE, _IMAGE,
                                  Mux(kind == proto.INFO, _INFO, _LOADED))
                with m.If(got):
                    answer(tag_of_kind, Mux(code != 0, code,
                                            Mux(byte == crc, 0, proto.BAD_CHECKSUM)))
                    m.next = "HUNT"
                with m.Elif(broken):
                    answer(tag_of_kind, proto.FRAMING)
                    m.next = "HUNT"
                with m.Elif(timed_out):
                    answer(tag_of_kind, proto.TRUNCATED)
                    m.next = "HUNT"
        with m.If(got | broken):
            m.d.sync += idle.eq(0)
        with m.Elif(~timed_out):
            m.d.sync += idle.eq(idle + 1)

    @staticmethod
    def _receive_weights(m, weights, byte, got, broken, timed_out, crc, code, count, answer):
        """The states of a ``WEIGHTS`` frame after its ``SEQ``: ``HEADER`` (bank, address),
        ``HEADER_CRC``, ``WORDS`` (each word offered to ``weights`` as its second byte
        comes, where the header held; one not taken before the next is an overrun), then
        ``CHECK``."""
        bank, address, low = Signal(8), Signal(16), Signal(8)
        header_ok = Signal()
        payload = weights.payload
        outside = ((bank >= 2 ** len(payload.bank))
                   | (address + proto.WEIGHT_WORDS > 2 ** len(payload.address)))
        with m.State("HEADER"):
            with m.If(got):
                m.d.sync += [count.eq(count + 1), crc.eq(crc8_step(crc, byte))]
                with m.Switch(count):
                    with m.Case(0):
                        m.d.sync += bank.eq(byte)
                    with m.Case(1):
                        m.d.sync += address[:8].eq(byte)
                    with m.Case(2):
                        m.d.sync += [address[8:].eq(byte), count.eq(0)]
                        m.next = "HEADER_CRC"
            with m.Elif(broken | timed_out):
                m.next = "HUNT"
        with m.State("HEADER_CRC"):
            with m.If(got):
                m.d.sync += [header_ok.eq((byte == crc) & ~outside),
                             crc.eq(crc8_step(crc, byte))]
                with m.If(byte != crc):
                    m.d.sync += code.eq(proto.BAD_CHECKSUM)
                with m.Elif(outside):
                    m.d.sync += code.eq(proto.BAD_ADDRESS)
                m.next = "WORDS"
            with m.Elif(broken | timed_out):
                m.next = "HUNT"
        with m.State("WORDS"):
            with m.If(got | broken):
                m.d.sync += count.eq(count + 1)
                with m.If(count == 2 * proto.WEIGHT_WORDS - 1):
                    m.next = "CHECK"
            with m.If(got):
                m.d.sync += crc.eq(crc8_step(crc, byte))
                with m.If(~count[0]):
                    m.d.sync += low.eq(byte)
                with m.Elif(header_ok & (code == 0)):
                    with m.If(weights.valid & ~weights.ready):
                        m.d.sync += code.eq(proto.OVERRUN)
                    with m.Else():
                        m.d.sync += [weights.valid.eq(1), payload.data.eq(Cat(low, byte)),
                                     payload.bank.eq(bank), payload.address.eq(address),
                                     address.eq(address + 1)]
            with m.Elif(broken):
                m.d.sync += code.eq(proto.FRAMING)
            with m.Elif(timed_out):
                answer(_LOADED, proto.TRUNCATED)
                m.next = "HUNT"

    @staticmethod
    def _pack(m, pixel_fifo, pixels, beat):
        """Bytes from the FIFO to beats of ``beat`` pixels, the first in the low byte."""
        held = Signal(8 * beat)
        filled = Signal(range(beat + 1))
        m.d.comb += [pixels.payload.eq(held), pixels.valid.eq(filled == beat)]
        with m.If(pixels.valid & pixels.ready):
            m.d.sync += filled.eq(0)
        with m.Elif((filled != beat) & pixel_fifo.r_rdy):
            m.d.comb += pixel_fifo.r_en.eq(1)
            m.d.sync += [held.eq(Cat(held[8:], pixel_fifo.r_data) if beat > 1
                                 else pixel_fifo.r_data),
                         filled.eq(filled + 1)]

    def _transmit(self, m, tags, result, out):
        plan = self._plan
        width = proto.logit_bytes(plan.logit_width)
        kind, seq, code = Signal(8), Signal(8), Signal(3)
        payload = Signal(len(result.payload.as_value()))
        index = Signal(range(proto.result_frame_size(plan.classes, plan.logit_width) + 13))
        crc = Signal(8)
        head_seq, head_kind, head_code = tags.r_data[:8], tags.r_data[8:10], tags.r_data[10:]

        held = result.payload.shape()(payload)
        result_bytes = [held.cls.as_unsigned()]
        for c in range(plan.classes):
            value = held.logits[c].as_signed()
            extended = Cat(value, *([value[-1]] * (8 * width - len(value))))
            result_bytes += [extended[8 * k:8 * k + 8] for k in range(width)]
        info_bytes = [Const(proto.PROTOCOL_VERSION, 8), Const(self._pixels & 0xFF, 8),
                      Const(self._pixels >> 8 & 0xFF, 8), Const(plan.classes, 8),
                      Const(width, 8)] + [Const(b, 8) for b in self._digest]
        bodies = {proto.RESULT: result_bytes, proto.INFO_REPLY: info_bytes,
                  proto.LOADED: [], proto.ERROR: [code.as_unsigned()]}

        current, last = Signal(8), Signal()
        with m.Switch(kind):
            for frame_kind, body in bodies.items():
                with m.Case(frame_kind):
                    frame = [Const(proto.BOARD_SYNC, 8), kind, seq, *body]
                    with m.Switch(index):
                        for i, value in enumerate(frame):
                            with m.Case(i):
                                m.d.comb += current.eq(value)
                        with m.Case(len(frame)):
                            m.d.comb += [current.eq(crc), last.eq(1)]

        def start(frame_kind, error_code=0):
            m.d.sync += [kind.eq(frame_kind), seq.eq(head_seq), code.eq(error_code),
                         index.eq(0), crc.eq(0)]
            m.d.comb += tags.r_en.eq(1)

        with m.FSM(name="transmit"):
            with m.State("IDLE"):
                with m.If(tags.r_rdy):
                    with m.If(head_kind == _IMAGE):
                        with m.If(result.valid):
                            m.d.comb += result.ready.eq(1)
                            m.d.sync += payload.eq(result.payload.as_value())
                            with m.If(head_code == 0):
                                start(proto.RESULT)
                                m.d.sync += [self.last_class.eq(result.payload.cls),
                                             self.error_seen.eq(0)]
                            with m.Else():
                                start(proto.ERROR, head_code)
                                m.d.sync += self.error_seen.eq(1)
                            m.next = "SEND"
                    with m.Elif((head_kind == _INFO) & (head_code == 0)):
                        start(proto.INFO_REPLY)
                        m.next = "SEND"
                    with m.Elif((head_kind == _LOADED) & (head_code == 0)):
                        start(proto.LOADED)
                        m.next = "SEND"
                    with m.Else():
                        start(proto.ERROR, head_code)
                        m.d.sync += self.error_seen.eq(1)
                        m.next = "SEND"
            with m.State("SEND"):
                m.d.comb += [out.valid.eq(1), out.payload.eq(current)]
                with m.If(out.ready):
                    m.d.sync += index.eq(index + 1)
                    with m.If(index != 0):
                        m.d.sync += crc.eq(crc8_step(crc, current))
                    with m.If(last):
                        m.next = "IDLE"


#: the module name of the link top written beside the design
LINK_MODULE = "spikewright_uart"


def link_for(plan: NetworkPlan, manifest: dict, divisor: int) -> UartLink:
    """:class:`UartLink` around an instance of the design whose generator ``manifest`` is
    given (its trace ports left unread), answering INFO with its IR digest."""
    from ..core_instance import CoreInstance
    return UartLink(plan, CoreInstance.of_manifest(plan, manifest), divisor,
                    bytes.fromhex(manifest["ir_digest"][:8]))


def link_verilog(plan: NetworkPlan, manifest: dict, divisor: int) -> str:
    """Verilog of ``spikewright_uart`` (ports ``clk``, ``rst``, ``rx``, ``tx``,
    ``last_class``, ``error_seen``): :func:`link_for`'s link."""
    from amaranth.back import verilog
    return verilog.convert(link_for(plan, manifest, divisor), name=LINK_MODULE,
                           emit_src=False, strip_internal_attrs=True)
