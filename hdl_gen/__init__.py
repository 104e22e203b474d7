"""spikewright.hdl_gen: accumulator-only, event-driven spiking stages in Amaranth, generated
from the IR and a HwConfig, with their exact stream model.

``plan.make_plan`` derives the hardware view (its ``stream`` the stage plans),
``stream_top.StreamTop`` is the design, ``stream_model`` predicts the cycle of every result
from the golden trace, ``emit.generate`` writes Verilog, Verilator waivers and a manifest.
Imports no torch.
"""
