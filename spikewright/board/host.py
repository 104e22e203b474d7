"""The host end of the board link: images out over a serial port in the frames of
:mod:`spikewright.hdl_gen.board.protocol`, classes and logits back. The same code talks to a
board's FTDI port and to the simulated board's terminal (:mod:`spikewright.sim.board_sim`).
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np

from spikewright.hdl_gen.board import protocol as proto

__all__ = ["BoardLink", "LinkError"]


class LinkError(ValueError):
    """No port, or the board answered something the protocol does not allow, or nothing in
    time (a ValueError, so that the command line gives it one line)."""


class BoardLink:
    """A serial connection to a board's UART link (``port``, ``baud``) for a network of
    ``classes`` classes, logits ``logit_width`` bits wide and ``pixels_per_image`` pixels."""

    def __init__(self, port: str, baud: int, *, classes: int, logit_width: int,
                 pixels_per_image: int, timeout_s: float = 10.0):
        try:
            import serial
        except ImportError:
            raise LinkError("the board link needs pyserial (pip install pyserial)") from None
        try:
            self.serial = serial.Serial(port, baud, timeout=0.02, write_timeout=timeout_s)
        except (OSError, serial.SerialException) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise LinkError(f"cannot open the serial port {port} ({reason}): connect the "
                            f"board and give its port (an FTDI port is /dev/ttyUSB0 or "
                            f"similar), or simulate the board (--simulate)") from None
        self.classes, self.logit_width = classes, logit_width
        self.pixels_per_image, self.timeout_s = pixels_per_image, timeout_s
        self.buffer = b""
        self.sent_bytes = self.received_bytes = 0

    def close(self) -> None:
        self.serial.close()

    def _send(self, data: bytes) -> None:
        self.serial.write(data)
        self.sent_bytes += len(data)

    def _frames(self):
        """The frames received so far (waits up to the timeout for at least one)."""
        deadline = time.time() + self.timeout_s
        while True:
            chunk = self.serial.read(4096)
            self.received_bytes += len(chunk)
            self.buffer += chunk
            found = []
            while True:
                try:
                    split = proto.split_frame(self.buffer, classes=self.classes,
                                              logit_width=self.logit_width)
                except proto.FrameError as error:
                    raise LinkError(f"the board sent a bad frame: {error}") from None
                if split is None:
                    break
                kind, seq, payload, self.buffer = split
                found.append((kind, seq, payload))
            if found:
                return found
            if time.time() > deadline:
                raise LinkError(f"the board answered nothing for {self.timeout_s:g} s")

    def info(self, seq: int = 0) -> dict:
        """The board's ``INFO_REPLY``: protocol version, pixels per image, classes, logit
        bytes and the first 4 bytes of its network's IR digest."""
        self._send(proto.info_frame(seq))
        kind, got, payload = self._frames()[0]
        if kind != proto.INFO_REPLY or got != seq:
            raise LinkError(f"asked for the board's info (seq {seq}), got a frame of type "
                            f"0x{kind:02X} (seq {got})")
        return proto.decode_info(payload)

    def classify(self, pixels: np.ndarray, *, window: int = 4, corrupt_every: int = 0,
                 retries: int = 3, progress=None) -> dict:
        """Send every image of ``pixels`` ``[N, ...]`` (uint8), at most ``window`` frames
        unanswered; an image answered with ``ERROR`` is sent again (up to ``retries``
        times). With ``corrupt_every`` K, one bit of every K-th frame sent is flipped on
        purpose (to see the board refuse it). Returns the classes and logits (None where an
        image never got a result), the errors the board sent by code, the retries, the
        frames corrupted on purpose and the wall time."""
        flat = np.ascontiguousarray(pixels, dtype=np.uint8).reshape(len(pixels), -1)
        if flat.shape[1] != self.pixels_per_image:
            raise ValueError(f"images of {flat.shape[1]} pixels; the board takes "
                             f"{self.pixels_per_image}")
        count = len(flat)
        classes, logits = [None] * count, [None] * count

        def answered(image, kind, payload):
            if kind != proto.RESULT:
                raise LinkError(f"an image frame answered with a frame of type 0x{kind:02X}")
            classes[image], logits[image] = proto.decode_result(payload, self.classes,
                                                                self.logit_width)

        facts = self._exchange(count, lambda seq, image: proto.image_frame(seq, flat[image]),
                               answered, first_spoilable=3, spoilable=self.pixels_per_image,
                               window=window, corrupt_every=corrupt_every, retries=retries,
                               progress=progress)
        return {"classes": classes, "logits": logits, **facts}

    def load_weights(self, contents: dict, *, window: int = 8, corrupt_every: int = 0,
                     retries: int = 3, progress=None) -> dict:
        """Write ``contents`` (``{bank: [word, ...]}``, :func:`.spram.bank_contents`) into
        the board's SPRAM in ``WEIGHTS`` frames, each answered with ``LOADED`` (a frame
        answered with ``ERROR`` is sent again, as images are); the errors, retries and wall
        time. An error where a frame never got through."""
        chunks = proto.weight_chunks(contents)
        loaded = [False] * len(chunks)

        def answered(chunk, kind, payload):
            if kind != proto.LOADED:
                raise LinkError(f"a WEIGHTS frame answered with a frame of type 0x{kind:02X}; "
                                f"does the board's design keep its weights in SPRAM?")
            loaded[chunk] = True

        facts = self._exchange(len(chunks),
                               lambda seq, k: proto.weights_frame(seq, *chunks[k]), answered,
                               first_spoilable=7, spoilable=2 * proto.WEIGHT_WORDS,
                               window=window, corrupt_every=corrupt_every, retries=retries,
                               progress=progress)
        if not all(loaded):
            missing = loaded.index(False)
            raise LinkError(f"the weights did not load: frame {missing} (bank "
                            f"{chunks[missing][0]}, address {chunks[missing][1]}) was refused "
                            f"{retries + 1} times ({facts['errors']})")
        return {"frames": len(chunks), "words": sum(len(w) for w in contents.values()),
                **facts}

    def _exchange(self, count: int, frame_of, answered, *, first_spoilable: int,
                  spoilable: int, window: int, corrupt_every: int, retries: int,
                  progress=None) -> dict:
        """Send ``frame_of(seq, item)`` for items ``0 .. count - 1``, at most ``window``
        unanswered; an answer other than ``ERROR`` goes to ``answered(item, kind,
        payload)``, an ``ERROR`` sends the item again (up to ``retries`` times). With
        ``corrupt_every`` K, one bit of every K-th frame is flipped on purpose, among the
        ``spoilable`` bytes from ``first_spoilable`` on; such a frame must be refused."""
        from spikewright.hdl_gen.board.uart_link import TAG_DEPTH
        if not 1 <= window <= TAG_DEPTH:
            raise ValueError(f"the board keeps at most {TAG_DEPTH} frames unanswered: the "
                             f"window must be 1 to {TAG_DEPTH}, not {window}")
        attempts = [0] * count
        errors: dict[str, int] = {}
        todo = deque(range(count))
        outstanding = deque()  # (seq, item, corrupted on purpose)
        seq, frames_sent, corrupted, retried, done = 0, 0, 0, 0, 0
        start = time.time()
        while todo or outstanding:
            while todo and len(outstanding) < window:
                item = todo.popleft()
                frame = bytearray(frame_of(seq, item))
                spoil = bool(corrupt_every) and frames_sent % corrupt_every == corrupt_every - 1
                if spoil:
                    frame[first_spoilable + (frames_sent * 7919) % spoilable] ^= 0x01
                    corrupted += 1
                self._send(bytes(frame))
                outstanding.append((seq, item, spoil))
                attempts[item] += 1
                seq, frames_sent = (seq + 1) & 0xFF, frames_sent + 1
            for kind, got, payload in self._frames():
                if not outstanding:
                    raise LinkError(f"the board answered seq {got} with no frame outstanding")
                expected, item, spoil = outstanding.popleft()
                if got != expected:
                    raise LinkError(f"answers come in the order of the frames: expected seq "
                                    f"{expected}, got {got}")
                if kind == proto.ERROR:
                    meaning = proto.ERROR_CODES.get(payload[0], f"code {payload[0]}")
                    errors[meaning] = errors.get(meaning, 0) + 1
                    if attempts[item] <= retries:
                        todo.appendleft(item)
                        retried += 1
                    continue
                if spoil:
                    raise LinkError(f"the board took a corrupted frame (seq {got}) instead of "
                                    f"answering with an error")
                answered(item, kind, payload)
                done += 1
                if progress is not None:
                    progress(done)
        return {"errors": errors, "retries": retried, "corrupted_on_purpose": corrupted,
                "frames_sent": frames_sent, "wall_s": time.time() - start,
                "bytes_sent": self.sent_bytes, "bytes_received": self.received_bytes}
