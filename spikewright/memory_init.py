"""Memory contents handed to Yosys as ``$readmemh`` files instead of Verilog statements.

Amaranth's Verilog initializes each memory in an ``initial`` block of one assignment per
word. Yosys's Verilog front end spends most of its time there: 67 s of the 160 s that
``synth_ecp5`` took for the shipped MLP (its 9,700 weight, bias and threshold words), against 2 s
for the same design with the words in files (docs/results.md). :func:`readmemh_files`
rewrites those blocks for the synthesis tools only; the Verilog that is generated, linted and
simulated is unchanged, and the block RAMs Yosys infers hold the same words
(``tests/test_synth.py`` compares Yosys's memory cells for both).
"""

from __future__ import annotations

import re

__all__ = ["readmemh_files"]

_BLOCK = re.compile(r"^([ \t]*)initial begin\n((?:[^\n]*\n)*?)[ \t]*end\n", re.M)
_WORD = re.compile(r"^\s*(\\\S+ |[A-Za-z_][\w$]*)\[(\d+)\] = (\d+)'([bdh])([0-9a-fA-F_]+);$")
_BASES = {"b": 2, "d": 10, "h": 16}


def readmemh_files(verilog: str, prefix: str) -> tuple[str, dict[str, str]]:
    """Return ``verilog`` with every ``initial`` block that sets the words 0, 1, ..., n-1 of
    one memory to defined constants replaced by ``$readmemh("<prefix>_<k>.hex", memory)``,
    and those files ``{file name: text}`` (one word per line, in hex, address order).
    Blocks of any other form are left as they are."""
    files: dict[str, str] = {}

    def replace(match: re.Match) -> str:
        indent, body = match.group(1), match.group(2)
        words = [_WORD.match(line) for line in body.splitlines() if line.strip()]
        if not words or not all(words):
            return match.group(0)
        names = {w.group(1) for w in words}
        if len(names) != 1 or [int(w.group(2)) for w in words] != list(range(len(words))):
            return match.group(0)
        digits = -(-int(words[0].group(3)) // 4)
        name = f"{prefix}_{len(files)}.hex"
        files[name] = "".join(
            f"{int(w.group(5).replace('_', ''), _BASES[w.group(4)]):0{digits}x}\n"
            for w in words)
        return f'{indent}initial $readmemh("{name}", {names.pop()});\n'

    return _BLOCK.sub(replace, verilog), files
