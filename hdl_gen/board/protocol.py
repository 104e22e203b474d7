"""The host link's framed protocol: what the board's UART link (:mod:`.uart_link`) and the
host (:mod:`spikewright.board.host`) exchange. Pure Python; the one place where its bytes,
codes and checksum are defined. docs/board-link.md describes the frames, what the board
answers and what the host does: every frame is ``SYNC, TYPE, SEQ, payload..., CRC`` with
``CRC = crc8(TYPE, SEQ, payload...)``.
"""

from __future__ import annotations

import math

__all__ = ["HOST_SYNC", "BOARD_SYNC", "IMAGE", "INFO", "WEIGHTS", "RESULT", "INFO_REPLY",
           "LOADED", "ERROR", "WEIGHT_WORDS", "weights_frame", "weight_chunks",
           "ERROR_CODES", "PROTOCOL_VERSION", "IDLE_BYTES", "CRC_POLY", "crc8",
           "logit_bytes", "image_frame", "info_frame", "result_frame_size", "frame",
           "FrameError", "split_frame", "decode_result", "decode_info"]

HOST_SYNC = 0xA5
BOARD_SYNC = 0x5A
IMAGE, INFO, WEIGHTS = 0x01, 0x02, 0x03
RESULT, INFO_REPLY, LOADED, ERROR = 0x81, 0x82, 0x83, 0xE1
PROTOCOL_VERSION = 2
#: 16-bit words in a ``WEIGHTS`` frame
WEIGHT_WORDS = 64
#: error code -> meaning
ERROR_CODES = {1: "bad checksum", 2: "unknown frame type", 3: "UART framing error (no stop bit)",
               4: "frame ended early (truncated)", 5: "receive overrun",
               6: "weight bank or address outside the SPRAM"}
BAD_CHECKSUM, UNKNOWN_TYPE, FRAMING, TRUNCATED, OVERRUN, BAD_ADDRESS = 1, 2, 3, 4, 5, 6
#: a frame with no byte for this many byte times is ended
IDLE_BYTES = 4
CRC_POLY = 0x07


def crc8(data) -> int:
    """CRC-8 of ``data`` (bytes or ints 0-255): polynomial ``CRC_POLY``, initial 0."""
    crc = 0
    for byte in data:
        crc ^= int(byte)
        for _ in range(8):
            crc = ((crc << 1) ^ CRC_POLY) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def logit_bytes(logit_width: int) -> int:
    """Bytes per logit in a ``RESULT`` frame."""
    return max(1, math.ceil(logit_width / 8))


def frame(sync: int, kind: int, seq: int, payload=b"") -> bytes:
    """One frame: ``sync, kind, seq, payload, crc8(kind, seq, payload)``."""
    body = bytes([kind, seq & 0xFF]) + bytes(payload)
    return bytes([sync]) + body + bytes([crc8(body)])


def image_frame(seq: int, pixels) -> bytes:
    """The host's frame of one image (uint8 pixels in C, H, W order)."""
    return frame(HOST_SYNC, IMAGE, seq, bytes(bytearray(int(p) for p in pixels)))


def info_frame(seq: int) -> bytes:
    return frame(HOST_SYNC, INFO, seq)


def weights_frame(seq: int, bank: int, address: int, words) -> bytes:
    """The host's frame of ``WEIGHT_WORDS`` words for ``bank`` from ``address`` on."""
    words = [int(w) for w in words]
    if len(words) != WEIGHT_WORDS or not all(0 <= w < 1 << 16 for w in words):
        raise ValueError(f"a WEIGHTS frame holds {WEIGHT_WORDS} words of 16 bits")
    if not 0 <= bank < 256 or not 0 <= address < 1 << 16:
        raise ValueError(f"bank {bank} or address {address} does not fit the frame")
    header = bytes([bank, address & 0xFF, address >> 8])
    crc = crc8(bytes([WEIGHTS, seq & 0xFF]) + header)
    return frame(HOST_SYNC, WEIGHTS, seq,
                 header + bytes([crc]) + b"".join(w.to_bytes(2, "little") for w in words))


def weight_chunks(contents: dict) -> list:
    """``[(bank, address, words)]``: the ``WEIGHTS`` frames that write ``contents``
    (``{bank: [word, ...]}``, :func:`.spram.bank_contents`), the last of a bank padded with
    zeros (written to addresses no layer reads)."""
    chunks = []
    for bank, words in sorted(contents.items()):
        for address in range(0, len(words), WEIGHT_WORDS):
            part = list(words[address:address + WEIGHT_WORDS])
            chunks.append((bank, address, part + [0] * (WEIGHT_WORDS - len(part))))
    return chunks


def result_frame_size(classes: int, logit_width: int) -> int:
    """Bytes of a ``RESULT`` frame: sync, type, seq, class, logits, crc."""
    return 5 + classes * logit_bytes(logit_width)


class FrameError(ValueError):
    """Bytes that are not a frame of this protocol."""


def split_frame(buffer: bytes, sync: int = BOARD_SYNC, *, classes: int, logit_width: int,
                pixels_per_image: int = 0):
    """The first whole frame in ``buffer``: ``(kind, seq, payload, rest)``, or ``None`` while
    the frame is incomplete. Bytes before ``sync`` are an error (``FrameError``), as is a
    frame whose checksum or kind is wrong."""
    if not buffer:
        return None
    if buffer[0] != sync:
        raise FrameError(f"expected the sync byte 0x{sync:02X}, got 0x{buffer[0]:02X}")
    if len(buffer) < 3:
        return None
    sizes = {RESULT: 1 + classes * logit_bytes(logit_width), INFO_REPLY: 9, ERROR: 1,
             LOADED: 0, IMAGE: pixels_per_image, INFO: 0, WEIGHTS: 4 + 2 * WEIGHT_WORDS}
    kind = buffer[1]
    if kind not in sizes:
        raise FrameError(f"unknown frame type 0x{kind:02X}")
    end = 3 + sizes[kind] + 1
    if len(buffer) < end:
        return None
    body, crc = buffer[1:end - 1], buffer[end - 1]
    if crc8(body) != crc:
        raise FrameError(f"bad checksum in a frame of type 0x{kind:02X} (seq {buffer[2]}): "
                         f"0x{crc:02X}, computed 0x{crc8(body):02X}")
    return kind, buffer[2], bytes(buffer[3:end - 1]), bytes(buffer[end:])


def decode_result(payload: bytes, classes: int, logit_width: int) -> tuple[int, list[int]]:
    """``(class, logits)`` of a ``RESULT`` payload."""
    width = logit_bytes(logit_width)
    logits = [int.from_bytes(payload[1 + c * width:1 + (c + 1) * width], "little", signed=True)
              for c in range(classes)]
    return payload[0], logits


def decode_info(payload: bytes) -> dict:
    """The fields of an ``INFO_REPLY`` payload."""
    return {"protocol": payload[0], "pixels_per_image": payload[1] | payload[2] << 8,
            "classes": payload[3], "logit_bytes": payload[4], "digest": payload[5:9].hex()}
