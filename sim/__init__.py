"""spikewright.sim: the generated RTL against the golden model, on three benches (cocotb and
the HDL harness on Icarus and Verilator; Amaranth's simulator), all compared in one place
(:mod:`.expected`); :func:`.verify.verify` for many images, :func:`.regress.regress` for
random networks."""
