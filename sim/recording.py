"""What a bench saw the design do, image by image: nothing computed, nothing compared."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Recording"]


@dataclass
class Recording:
    """The raw observations of one bench run over ``images`` images.

    payloads[i]: the result payload of image ``i`` as an integer (None: no result);
    cycles[i]:   cycles from the first beat of the run's first image to image ``i``'s
                 result valid (-1: none);
    bitmaps[i]:  ``{trace name: bitmap}``, the spikes each stage handed over for image
                 ``i`` (``"input"`` and each hidden layer), as integers;
    simulated_cycles: clock cycles of the whole run; facts: the bench, simulator and build.
    """
    images: int
    payloads: list = field(default_factory=list)
    cycles: list = field(default_factory=list)
    bitmaps: list = field(default_factory=list)
    simulated_cycles: int = 0
    facts: dict = field(default_factory=dict)

    def __post_init__(self):
        n = self.images
        self.payloads = self.payloads or [None] * n
        self.cycles = self.cycles or [-1] * n
        self.bitmaps = self.bitmaps or [{} for _ in range(n)]
        self._words = {}

    def add_bitmap(self, name: str, bits: int) -> None:
        """File a stage's hand-over: the n-th bitmap of a stage belongs to image n."""
        for image in self.bitmaps:
            if name not in image:
                image[name] = int(bits)
                return
        raise ValueError(f"more {name!r} bitmaps than the {self.images} images")

    def add_word(self, name: str, index: int, word: int, width: int, words: int) -> None:
        """File one word a conv stage wrote (bits ``index * width`` on of its image's
        bitmap); after ``words`` words, the image's bitmap is filed (:meth:`add_bitmap`)."""
        count, bits = self._words.get(name, (0, 0))
        count, bits = count + 1, bits | int(word) << (int(index) * width)
        if count == words:
            self.add_bitmap(name, bits)
            self._words.pop(name, None)
        else:
            self._words[name] = (count, bits)

    def to_json(self) -> dict:
        return {"images": self.images,
                "payloads": [None if p is None else format(p, "x") for p in self.payloads],
                "cycles": self.cycles,
                "bitmaps": [{k: format(v, "x") for k, v in b.items()} for b in self.bitmaps],
                "simulated_cycles": self.simulated_cycles, "facts": self.facts}

    @classmethod
    def from_json(cls, doc: dict) -> "Recording":
        return cls(doc["images"], [None if p is None else int(p, 16) for p in doc["payloads"]],
                   list(doc["cycles"]),
                   [{k: int(v, 16) for k, v in b.items()} for b in doc.get("bitmaps", [])],
                   doc["simulated_cycles"], dict(doc["facts"]))
