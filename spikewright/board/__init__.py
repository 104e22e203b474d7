"""A design on a board: the bitstream (:mod:`.build`: Yosys, nextpnr and the packer over
the board top of :mod:`spikewright.hdl_gen.board.top`), the host's end of the UART link
(:mod:`.host`) and the flow that runs images through it (:mod:`.flow`)."""
