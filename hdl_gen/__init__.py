"""spikewright.hdl_gen: accumulator-only, event-driven spiking cores in Amaranth, generated
from the IR and a HwConfig, with their exact cycle model.

``plan.make_plan`` derives the hardware view, ``top.NetworkTop`` is the design,
``cycle_model`` predicts its cycles from the golden trace, ``emit.generate`` writes Verilog,
Verilator waivers and a manifest. Imports no torch.
"""
