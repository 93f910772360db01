"""A run of complete array elements that the scanner cut from one block at once.

A payer's items are small (UHC's are 1.2 KB: 410,000 in 509 MB), so a bytes object and an event per
item cost the scanner's thread, which holds the GIL the others need, more than decoding them costs. A run keeps the block
and where its elements are; its bytes are copied once, on a flatten thread, straight into the lines
that Arrow decodes. Batches and the parser's consumers hold "pieces": an element's bytes or a run.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

class ElementRun:
    """Elements opens[k]..closes[k] of `block` (inclusive), one after another; between two of them only
    whitespace and one comma, at the positions `between` (the scanner checked them)."""

    __slots__ = ("block", "opens", "closes", "between")

    def __init__(self, block: bytes, opens: np.ndarray, closes: np.ndarray, between: np.ndarray):
        self.block, self.opens, self.closes, self.between = block, opens, closes, between

    def __len__(self) -> int:
        """The bytes it spans, separators included."""
        return int(self.closes[-1]) + 1 - int(self.opens[0])

    @property
    def count(self) -> int:
        return len(self.opens)

    @property
    def largest(self) -> int:
        return int((self.closes - self.opens).max()) + 1

    def elements(self) -> list[bytes]:
        block = self.block
        return [block[o : c + 1] for o, c in zip(self.opens.tolist(), self.closes.tolist())]

    def view(self) -> memoryview:
        """The elements with their separators: the inside of a JSON array."""
        return memoryview(self.block)[int(self.opens[0]) : int(self.closes[-1]) + 1]

    def split(self, nbytes: int) -> tuple[ElementRun, ElementRun | None]:
        """The first elements up to the one that reaches `nbytes` from the start (at least one), and the rest."""
        k = int(np.searchsorted(self.closes, self.opens[0] + nbytes - 1)) + 1
        if k >= self.count:
            return self, None
        cut = np.searchsorted(self.between, self.closes[k - 1])
        after = np.searchsorted(self.between, self.opens[k])
        return (ElementRun(self.block, self.opens[:k], self.closes[:k], self.between[:cut]),
                ElementRun(self.block, self.opens[k:], self.closes[k:], self.between[after:]))


Piece = bytes | ElementRun


def count(piece: Piece) -> int:
    return 1 if isinstance(piece, bytes) else piece.count


def largest(piece: Piece) -> int:
    return len(piece) if isinstance(piece, bytes) else piece.largest


def elements(pieces: list[Piece]) -> list[bytes]:
    """Every element's bytes, in order."""
    return [e for p in pieces for e in ((p,) if isinstance(p, bytes) else p.elements())]


def lines(pieces: list[Piece]) -> bytearray:
    """The pieces' elements in one buffer, one after another on lines of their own: the bytes between two
    elements become newlines (blank lines are fine for Arrow). Copied once. Line breaks inside a
    pretty-printed element stay as they are, and so does one inside a string, which the decoder rejects
    as the reference path does."""
    data = bytearray(b"\n").join([p if isinstance(p, bytes) else p.view() for p in pieces])
    sizes = np.fromiter(map(len, pieces), np.int64, len(pieces)) + 1
    starts = np.cumsum(sizes) - sizes
    breaks = [starts[1:] - 1]
    breaks += [p.between + (starts[k] - p.opens[0]) for k, p in enumerate(pieces) if not isinstance(p, bytes)]
    np.frombuffer(data, np.uint8)[np.concatenate(breaks)] = 10
    return data


def joined(piece: Piece) -> bytes | memoryview:
    return piece if isinstance(piece, bytes) else piece.view()


def portions(piece: Piece, room: int, full: int) -> Iterator[Piece]:
    """The piece in portions that fill a batch: the first up to `room` bytes, then `full` at a time."""
    while isinstance(piece, ElementRun):
        head, piece = piece.split(room)
        yield head
        room = full
    if piece is not None:
        yield piece


class Batches:
    """Pieces gathered into batches of about `nbytes` (a run is split where a batch fills), numbering
    their elements as they come."""

    def __init__(self, nbytes: int):
        self.nbytes = nbytes
        self.pieces: list[Piece] = []
        self.size = self.first = self.count = 0  # count: elements so far; first: the batch's first one

    def add(self, piece: Piece) -> list[tuple[list[Piece], int]]:
        """The batches this piece fills, each with the position of its first element."""
        full = []
        for part in portions(piece, self.nbytes - self.size, self.nbytes):
            self.pieces.append(part)
            self.size += len(part)
            self.count += count(part)
            if self.size >= self.nbytes:
                full.append(self.take())
        return full

    def take(self) -> tuple[list[Piece], int]:
        """The batch so far (perhaps empty) and the position of its first element."""
        batch = (self.pieces, self.first)
        self.pieces, self.size, self.first = [], 0, self.count
        return batch

    def skip(self) -> int:
        """The position of an element that goes on its own, after the batch so far was taken."""
        self.count += 1
        self.first = self.count
        return self.count - 1
