"""spikeforge.sim: the generated RTL against the golden model in cocotb, on Icarus and
Verilator (``runner.run_images``, ``verify.verify``, ``regress.regress``)."""
