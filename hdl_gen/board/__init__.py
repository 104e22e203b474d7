"""What runs a generated design on a board: the UART (:mod:`.uart`), the link's protocol
(:mod:`.protocol`) and its hardware end (:mod:`.uart_link`), and the board's top
(:mod:`.top`: clock, PLL, reset, pins)."""
