"""An 8N1 UART: a receiver and a transmitter at ``divisor`` clock cycles per bit.

A byte on the line is a start bit (0), eight data bits (least significant first) and a stop
bit (1), each ``divisor`` cycles long. :func:`divisor_for` is where a clock and a baud rate
become a divisor, and where a rate the clock cannot make is refused.
"""

from amaranth import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["UartRx", "UartTx", "divisor_for", "MAX_BAUD_ERROR"]

#: the largest relative baud-rate error accepted (a receiver samples mid-bit; 10 bits per
#: byte leave half a bit of drift, shared between both ends)
MAX_BAUD_ERROR = 0.02


def divisor_for(clock_hz: float, baud: int) -> int:
    """Clock cycles per bit for ``baud`` at ``clock_hz``; an error where the rate made
    differs from ``baud`` by more than ``MAX_BAUD_ERROR`` or the divisor is under 4."""
    if baud <= 0 or clock_hz <= 0:
        raise ValueError(f"the baud rate and the clock must be positive, not {baud} and "
                         f"{clock_hz}")
    divisor = round(clock_hz / baud)
    if divisor < 4:
        raise ValueError(f"{baud} baud needs at least 4 clock cycles per bit: a clock of at "
                         f"least {4 * baud / 1e6:g} MHz, not {clock_hz / 1e6:g} MHz")
    error = abs(clock_hz / divisor - baud) / baud
    if error > MAX_BAUD_ERROR:
        raise ValueError(f"{clock_hz / 1e6:g} MHz makes {baud} baud only with a "
                         f"{100 * error:.1f}% error (at most {100 * MAX_BAUD_ERROR:g}%): "
                         f"choose a baud rate near {clock_hz / divisor:.0f} or "
                         f"{clock_hz / (divisor + 1):.0f}")
    return divisor


def _checked(divisor: int) -> int:
    if divisor < 4:
        raise ValueError(f"divisor must be at least 4, not {divisor}")
    return divisor


class UartRx(wiring.Component):
    """The receiver. ``rx`` passes two flip-flops; a falling edge starts a byte, each bit is
    sampled in its middle (``divisor // 2`` cycles after the start edge, then every
    ``divisor``). ``byte`` is valid for the one cycle of ``done``; ``frame_error`` pulses
    instead where the stop bit is 0 (the receiver then waits for the line to go high)."""

    rx: In(1)
    byte: Out(8)
    done: Out(1)
    frame_error: Out(1)

    def __init__(self, divisor: int):
        self._divisor = _checked(divisor)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        divisor = self._divisor
        meta, line = Signal(init=1), Signal(init=1)
        m.d.sync += [meta.eq(self.rx), line.eq(meta)]
        count = Signal(range(divisor))
        bit = Signal(range(8))
        shift = Signal(8)
        m.d.sync += [self.done.eq(0), self.frame_error.eq(0)]
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~line):
                    m.d.sync += count.eq(divisor // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                m.d.sync += count.eq(count - 1)
                with m.If(count == 0):
                    m.d.sync += [count.eq(divisor - 1), bit.eq(0)]
                    m.next = "IDLE"
                    with m.If(~line):
                        m.next = "DATA"
            with m.State("DATA"):
                m.d.sync += count.eq(count - 1)
                with m.If(count == 0):
                    m.d.sync += [count.eq(divisor - 1), shift.eq((shift >> 1) | (line << 7)),
                                 bit.eq(bit + 1)]
                    with m.If(bit == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                m.d.sync += count.eq(count - 1)
                with m.If(count == 0):
                    with m.If(line):
                        m.d.sync += [self.byte.eq(shift), self.done.eq(1)]
                        m.next = "IDLE"
                    with m.Else():
                        m.d.sync += self.frame_error.eq(1)
                        m.next = "BREAK"
            with m.State("BREAK"):
                with m.If(line):
                    m.next = "IDLE"
        return m


class UartTx(wiring.Component):
    """The transmitter: takes a byte from ``data`` when idle and sends it (10 bits of
    ``divisor`` cycles); ``tx`` idles high."""

    data: In(stream.Signature(8))
    tx: Out(1)

    def __init__(self, divisor: int):
        self._divisor = _checked(divisor)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        divisor = self._divisor
        count = Signal(range(divisor))
        bits = Signal(range(11))
        shift = Signal(10, init=0x3FF)
        m.d.comb += [self.tx.eq(shift[0]), self.data.ready.eq(bits == 0)]
        with m.If(bits == 0):
            with m.If(self.data.valid):
                m.d.sync += [shift.eq((self.data.payload << 1) | (1 << 9)), bits.eq(10),
                             count.eq(divisor - 1)]
        with m.Else():
            m.d.sync += count.eq(count - 1)
            with m.If(count == 0):
                m.d.sync += [count.eq(divisor - 1), shift.eq((shift >> 1) | (1 << 9)),
                             bits.eq(bits - 1)]
        return m
