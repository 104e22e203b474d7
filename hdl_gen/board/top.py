"""The board's top: the core's clock from the board's oscillator (through the part's PLL),
the reset after lock, the UART link (:mod:`.uart_link`) on the UART pins and the last class
on the LEDs. The pins come from the amaranth-boards platform it is elaborated for; the part
and board facts from :mod:`.parts`."""

from __future__ import annotations

from amaranth import ClockDomain, Elaboratable, Instance, Module, ResetSignal, Signal

from ..parts import ECP5_PLL, Board

__all__ = ["BoardTop", "ecp5_pll_parameters", "BOARD_MODULE", "RESET_CYCLES"]

BOARD_MODULE = "spikewright_board"
#: cycles the core is held in reset after the PLL locks
RESET_CYCLES = 64


def ecp5_pll_parameters(input_mhz: float, output_mhz: float) -> dict:
    """EHXPLLL dividers making ``output_mhz`` from ``input_mhz`` exactly, within the
    limits of :data:`.parts.ECP5_PLL`; an error where none does."""
    pll = ECP5_PLL
    for input_div in range(1, pll.max_divider + 1):
        pfd = input_mhz / input_div
        if not pll.pfd_mhz[0] <= pfd <= pll.pfd_mhz[1]:
            continue
        feedback = output_mhz / pfd
        if abs(feedback - round(feedback)) > 1e-9 or not 1 <= round(feedback) <= pll.max_feedback:
            continue
        for output_div in range(1, pll.max_divider + 1):
            if pll.vco_mhz[0] <= output_mhz * output_div <= pll.vco_mhz[1]:
                return {"CLKI_DIV": input_div, "CLKFB_DIV": int(round(feedback)),
                        "CLKOP_DIV": output_div, "CLKOP_CPHASE": output_div - 1}
    raise ValueError(f"the ECP5 PLL cannot make exactly {output_mhz:g} MHz from "
                     f"{input_mhz:g} MHz; choose a multiple of {input_mhz:g} MHz over a "
                     f"small divider (e.g. {input_mhz * 3:g})")


class BoardTop(Elaboratable):
    """The board's top: ``link`` (a :class:`~spikewright.hdl_gen.board.uart_link.UartLink`) in a
    clock domain from the board's oscillator (through a PLL where ``board.clock_mhz``
    differs), held in reset until the PLL locks and ``RESET_CYCLES`` after; the UART pins;
    the last class on the LEDs (binary, as many bits as there are LEDs) and the last error
    on an LED where one is left."""

    def __init__(self, board: Board, link):
        self._board, self._link = board, link

    def elaborate(self, platform):
        m = Module()
        board = self._board
        m.domains.sync = sync = ClockDomain("sync")
        oscillator = platform.request(platform.default_clk, dir="i").i
        locked = Signal()
        if board.clock_mhz == board.oscillator_mhz:
            m.d.comb += [sync.clk.eq(oscillator), locked.eq(1)]
        elif board.target.startswith("ecp5"):
            pll = ecp5_pll_parameters(board.oscillator_mhz, board.clock_mhz)
            m.submodules.pll = Instance(
                ECP5_PLL.primitive,
                a_FREQUENCY_PIN_CLKI=str(int(board.oscillator_mhz)),
                a_FREQUENCY_PIN_CLKOP=str(int(board.clock_mhz)),
                a_ICP_CURRENT="12", a_LPF_RESISTOR="8", a_MFG_ENABLE_FILTEROPAMP="1",
                a_MFG_GMCREF_SEL="2",
                p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED",
                p_DPHASE_SOURCE="DISABLED", p_OUTDIVIDER_MUXA="DIVA", p_OUTDIVIDER_MUXB="DIVB",
                p_OUTDIVIDER_MUXC="DIVC", p_OUTDIVIDER_MUXD="DIVD",
                p_CLKI_DIV=pll["CLKI_DIV"], p_CLKOP_ENABLE="ENABLED",
                p_CLKOP_DIV=pll["CLKOP_DIV"], p_CLKOP_CPHASE=pll["CLKOP_CPHASE"],
                p_CLKOP_FPHASE=0, p_FEEDBK_PATH="CLKOP", p_CLKFB_DIV=pll["CLKFB_DIV"],
                i_RST=0, i_STDBY=0, i_CLKI=oscillator, o_CLKOP=sync.clk, i_CLKFB=sync.clk,
                o_CLKINTFB=Signal(name="pll_internal_feedback"), i_PHASESEL0=0,
                i_PHASESEL1=0, i_PHASEDIR=1, i_PHASESTEP=1, i_PHASELOADREG=1,
                i_PLLWAKESYNC=0, i_ENCLKOP=0, o_LOCK=locked)
        else:
            raise ValueError(f"{board.name}: a core clock of {board.clock_mhz:g} MHz needs a "
                             f"PLL that is not built for {board.target}; use the "
                             f"{board.oscillator_mhz:g} MHz oscillator")
        platform.add_clock_constraint(sync.clk, board.clock_mhz * 1e6)
        m.domains.por = por = ClockDomain("por", reset_less=True)
        m.d.comb += por.clk.eq(sync.clk)
        count = Signal(range(RESET_CYCLES + 1))
        reset = Signal(init=1)  # a flip-flop drives the reset's fan-out to every register
        with m.If(~locked):
            m.d.por += count.eq(0)
        with m.Elif(count != RESET_CYCLES):
            m.d.por += count.eq(count + 1)
        m.d.por += reset.eq(count != RESET_CYCLES)
        m.d.comb += ResetSignal("sync").eq(reset)

        m.submodules.link = link = self._link
        uart = platform.request("uart", 0)
        m.d.comb += [link.rx.eq(uart.rx.i), uart.tx.o.eq(link.tx)]
        leds = [platform.request(name, number).o for name, number in _leds(platform)]
        for bit, led in enumerate(leds[:-1] if len(leds) > 1 else leds):
            m.d.comb += led.eq(link.last_class[bit] if bit < 8 else 0)
        if len(leds) > 1:
            m.d.comb += leds[-1].eq(link.error_seen)
        return m


def _leds(platform) -> list[tuple[str, int]]:
    """The board's LEDs: ``led`` 0..n, else its green then red ones."""
    names = [key for key in platform.resources]
    for kind in (("led",), ("led_g", "led_r")):
        found = sorted((n, i) for n, i in names if n in kind)
        if found:
            return found
    return []
