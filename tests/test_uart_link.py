"""The UART link in Amaranth simulation, bit by bit on its pins: images in frames, results
equal to golden, damaged and stopped frames answered with errors, the next image right."""

import numpy as np
import pytest
from amaranth import Module
from amaranth.lib import wiring
from amaranth.sim import Simulator

from spikewright.golden import model
from spikewright.golden.random_network import random_dense_network, random_pixels
from spikewright.hdl_gen.board import protocol as proto
from spikewright.hdl_gen.board.uart import UartRx, UartTx, divisor_for
from spikewright.hdl_gen.board.uart_link import UartLink
from spikewright.hdl_gen.config import HwConfig
from spikewright.hdl_gen.core_instance import core_signature
from spikewright.hdl_gen.plan import make_plan
from spikewright.hdl_gen.stream_top import StreamTop

DIVISOR = 4


def line_bits(data: bytes):
    """The UART line's level per bit for ``data`` (8N1)."""
    for byte in data:
        yield 0
        for bit in range(8):
            yield byte >> bit & 1
        yield 1


def run_link(plan, core, chunks, *, cycles_after=3000, writes=None):
    """Send the byte strings ``chunks`` (a gap of ``IDLE_BYTES + 2`` byte times after each)
    into the link's rx pin; return every byte it sent back on tx (and append every weight
    write the core takes to ``writes``: ``(bank, address, data)``)."""
    dut = UartLink(plan, core, DIVISOR, bytes.fromhex("01020304"))
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    received, state = [], {"done": False}

    async def host(ctx):
        ctx.set(dut.rx, 1)
        await ctx.tick().repeat(20)
        for chunk in chunks:
            for level in line_bits(chunk):
                ctx.set(dut.rx, level)
                await ctx.tick().repeat(DIVISOR)
            ctx.set(dut.rx, 1)
            await ctx.tick().repeat((proto.IDLE_BYTES + 2) * 10 * DIVISOR)
        await ctx.tick().repeat(cycles_after)
        state["done"] = True

    async def listen(ctx):
        while not state["done"]:
            await ctx.tick()
            if ctx.get(dut.tx) == 0:
                await ctx.tick().repeat(DIVISOR // 2)
                value = 0
                for bit in range(8):
                    await ctx.tick().repeat(DIVISOR)
                    value |= ctx.get(dut.tx) << bit
                await ctx.tick().repeat(DIVISOR)
                assert ctx.get(dut.tx) == 1, "no stop bit"
                received.append(value)

    async def taken(ctx):
        stream = core.weights
        async for _, _, valid, ready, payload in ctx.tick().sample(stream.valid, stream.ready,
                                                                   stream.payload):
            if valid and ready:
                writes.append((payload.bank, payload.address, payload.data))

    sim.add_testbench(host)
    sim.add_testbench(listen, background=True)
    if writes is not None:
        sim.add_process(taken)
    sim.run()
    return bytes(received)


def frames(data: bytes, plan):
    found = []
    while data:
        kind, seq, payload, data = proto.split_frame(
            data, classes=plan.classes, logit_width=plan.logit_width)
        found.append((kind, seq, payload))
    return found


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(5)
    net = random_dense_network(rng, max_width=8, neuron="if")
    pixels = random_pixels(rng, net, 4)
    golden = model.run(net, pixels)
    return net, pixels, golden


def test_images_answered_with_golden_results_and_errors_in_order(case):
    net, pixels, golden = case
    positions = net.input.shape[1] * net.input.shape[2]
    beat = next(b for b in (3, 2, 1) if positions % b == 0)
    plan = make_plan(net, HwConfig(lanes=2, pixels_per_beat=beat))
    core = StreamTop(plan)
    damaged = bytearray(proto.image_frame(11, pixels[1].reshape(-1)))
    damaged[5] ^= 0x10  # a pixel bit flipped: the checksum no longer matches
    truncated = proto.image_frame(12, pixels[2].reshape(-1))[:-3]
    chunks = [proto.info_frame(7), proto.image_frame(10, pixels[0].reshape(-1)),
              bytes(damaged), truncated, bytes([proto.HOST_SYNC, 0x33, 13, 0]),
              proto.image_frame(14, pixels[3].reshape(-1))]
    answers = frames(run_link(plan, core, chunks), plan)
    assert [(kind, seq) for kind, seq, _ in answers] == [
        (proto.INFO_REPLY, 7), (proto.RESULT, 10), (proto.ERROR, 11), (proto.ERROR, 12),
        (proto.ERROR, 13), (proto.RESULT, 14)]
    info = proto.decode_info(answers[0][2])
    assert info == {"protocol": proto.PROTOCOL_VERSION, "pixels_per_image": pixels[0].size,
                    "classes": plan.classes, "logit_bytes": proto.logit_bytes(plan.logit_width),
                    "digest": "01020304"}
    assert [payload[0] for _, _, payload in answers[2:5]] == [
        proto.BAD_CHECKSUM, proto.TRUNCATED, proto.UNKNOWN_TYPE]
    for (_, _, payload), image in ((answers[1], 0), (answers[5], 3)):
        cls, logits = proto.decode_result(payload, plan.classes, plan.logit_width)
        assert cls == golden.predictions[image]
        assert logits == golden.logits[image].tolist()


def test_crc8_of_the_check_string():
    # CRC-8 (poly 0x07, init 0): the catalogued check value of "123456789" is 0xF4
    assert proto.crc8(b"123456789") == 0xF4


def test_uart_round_trip_at_a_divisor():
    divisor = 5
    rx, tx = UartRx(divisor), UartTx(divisor)
    m = Module()
    m.submodules.rx, m.submodules.tx = rx, tx
    m.d.comb += rx.rx.eq(tx.tx)
    sim = Simulator(m)
    sim.add_clock(1e-8)
    got = []
    message = bytes([0x00, 0xFF, 0xA5, 0x5A, 0x01, 0x80])

    async def send(ctx):
        for byte in message:
            ctx.set(tx.data.payload, byte)
            ctx.set(tx.data.valid, 1)
            await ctx.tick().until(tx.data.ready)
        ctx.set(tx.data.valid, 0)
        await ctx.tick().repeat(20 * divisor)

    async def take(ctx):
        async for _, _, done, byte, error in ctx.tick().sample(rx.done, rx.byte, rx.frame_error):
            assert not error
            if done:
                got.append(byte)

    sim.add_testbench(send)
    sim.add_process(take)
    sim.run()
    assert bytes(got) == message


def test_divisor_for_refuses_a_rate_the_clock_cannot_make():
    assert divisor_for(75e6, 3_000_000) == 25
    assert divisor_for(12e6, 3_000_000) == 4
    with pytest.raises(ValueError, match="at least 4 clock cycles per bit"):
        divisor_for(10e6, 3_000_000)
    with pytest.raises(ValueError, match="error"):
        divisor_for(25e6, 3_000_000)


class SpramCore(wiring.Component):
    """Stands in for an SPRAM design (whose primitive Amaranth cannot simulate): the streams
    of its top; takes every weight write; no results."""

    def __init__(self, plan):
        super().__init__(core_signature(plan))

    def elaborate(self, platform):
        m = Module()
        m.d.comb += [self.weights.ready.eq(1), self.pixels.ready.eq(1)]
        return m


def test_weight_frames_write_their_words_and_damaged_ones_are_answered():
    """Frames of words in, LOADED back, each word written at its bank and address; a word
    damaged in transit: ERROR (its words written, to be sent again); a damaged header or a
    bank beyond the SPRAM: ERROR, nothing written; a design without SPRAM refuses them
    (and then hunts for a frame inside the words, as after any unknown frame)."""
    rng = np.random.default_rng(9)
    net = random_dense_network(rng, max_width=8, neuron="if")
    plan = make_plan(net, HwConfig(lanes=2, target="ice40-up5k",
                                   memory_style="spram"))
    words = [[int(w) for w in rng.integers(0, 1 << 16, proto.WEIGHT_WORDS)] for _ in range(3)]
    good = proto.weights_frame(1, 2, 128, words[0])
    in_words = bytearray(proto.weights_frame(2, 0, 64, words[1]))
    in_words[20] ^= 0x04
    in_header = bytearray(proto.weights_frame(3, 1, 0, words[2]))
    in_header[4] ^= 0x01  # the address
    outside = proto.weights_frame(4, 7, 0, words[2])
    writes = []
    answers = frames(run_link(plan, SpramCore(plan), [good, bytes(in_words), bytes(in_header),
                                                       outside], writes=writes), plan)
    assert [(kind, seq) for kind, seq, _ in answers] == [
        (proto.LOADED, 1), (proto.ERROR, 2), (proto.ERROR, 3), (proto.ERROR, 4)]
    assert [payload[0] for _, _, payload in answers[1:]] == [
        proto.BAD_CHECKSUM, proto.BAD_CHECKSUM, proto.BAD_ADDRESS]
    assert writes[:proto.WEIGHT_WORDS] == [(2, 128 + i, w) for i, w in enumerate(words[0])]
    assert len(writes) == 2 * proto.WEIGHT_WORDS  # the damaged words, none of the others
    assert [(b, a) for b, a, _ in writes[proto.WEIGHT_WORDS:]] == [
        (0, 64 + i) for i in range(proto.WEIGHT_WORDS)]

    other = make_plan(net, HwConfig(lanes=2))
    refused = frames(run_link(other, StreamTop(other), [good]), other)
    assert refused[0] == (proto.ERROR, 1, bytes([proto.UNKNOWN_TYPE]))


def test_weight_chunks_cover_every_word_in_frames_of_whole_words():
    contents = {0: list(range(130)), 3: [7] * 64}
    chunks = proto.weight_chunks(contents)
    assert [(bank, address) for bank, address, _ in chunks] == [(0, 0), (0, 64), (0, 128),
                                                                (3, 0)]
    assert chunks[2][2] == [128, 129] + [0] * 62
    with pytest.raises(ValueError, match="holds 64 words of 16 bits"):
        proto.weights_frame(0, 0, 0, [1 << 16] * 64)
