"""A list of spike events (neuron addresses) for one time step."""

from amaranth import Module, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from .plan import counter_width

__all__ = ["EventList"]


class EventList(wiring.Component):
    """Append-only list of addresses, read back by index.

    Parameters
    ----------
    depth : int
        Most events per step (the producing layer's neuron count).
    address_width : int
        Bits of one address.

    Attributes
    ----------
    clear : In(1)
        Empty the list (takes effect the next cycle).
    push_valid, push_address : In
        Append ``push_address`` (one per cycle).
    count : Out
        Number of events in the list.
    read_index : In
        Index to read; ``read_address`` holds that event one cycle later.
    """

    def __init__(self, *, depth: int, address_width: int):
        if depth < 1:
            raise ValueError(f"depth must be at least 1, not {depth}")
        self._depth, self._address_width = depth, address_width
        count_width = counter_width(depth)
        super().__init__({
            "clear": In(1),
            "push_valid": In(1),
            "push_address": In(address_width),
            "count": Out(count_width),
            "read_index": In(count_width),
            "read_address": Out(address_width),
        })

    @property
    def depth(self):
        return self._depth

    def elaborate(self, platform):
        m = Module()
        m.submodules.storage = storage = memory.Memory(
            shape=unsigned(self._address_width), depth=self._depth, init=[])
        write = storage.write_port()
        read = storage.read_port()
        m.d.comb += [
            write.addr.eq(self.count),
            write.data.eq(self.push_address),
            write.en.eq(self.push_valid),
            read.addr.eq(self.read_index),
            self.read_address.eq(read.data),
        ]
        with m.If(self.clear):
            m.d.sync += self.count.eq(0)
        with m.Elif(self.push_valid):
            m.d.sync += self.count.eq(self.count + 1)
        return m
