"""Reading gzip data incrementally, so that everything before damage comes out first.

Python's ``gzip`` module raises on a file that was cut short (a copy interrupted
mid-stream, a file still being written) or is corrupt, and what it had
decompressed of the last blocks is gone with the exception. :class:`GzipStream`
decompresses one piece at a time with ``zlib``: a cut or corrupt file yields every
byte up to the damage, then :class:`DamagedInput` says what is wrong. Several
gzip members one after another (``cat a.gz b.gz``) and zero padding between them
are read as one stream, as ``gzip`` does; each member's CRC and size are checked.
"""

from __future__ import annotations

import zlib
from typing import BinaryIO

GZIP_WBITS = 16 + zlib.MAX_WBITS
RAW_CHUNK = 1 << 16  # compressed bytes fed at a time
OUT_CHUNK = 1 << 20  # at most this much decompressed output per read (a small file may expand a lot)
SALVAGE_STEP = 512  # compressed bytes fed at a time when recovering the output before corrupt data


class DamagedInput(OSError):
    """The input's data ends early or is corrupt; everything before the damage was read."""


class GzipStream:
    """Decompressed bytes of a gzip file, piece by piece (``read()``)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._z = zlib.decompressobj(GZIP_WBITS)
        self._input = b""  # compressed bytes not fed yet
        self._in_member = False  # the current member has started and not ended
        self._error: DamagedInput | None = None

    def read(self) -> bytes:
        """The next piece of decompressed data; b"" at the end. Damage raises
        :class:`DamagedInput`, once everything before it has been returned."""
        if self._error is not None:
            raise self._error
        while True:
            data = self._input or self._raw.read(RAW_CHUNK)
            self._input = b""
            if not data:
                if self._in_member:
                    self._error = DamagedInput("the gzip data ends before its end-of-stream marker "
                                               "(the file is cut short)")
                    raise self._error
                return b""
            if not self._in_member:
                data = data.lstrip(b"\0")  # padding between members, as gzip allows
                if not data:
                    continue
                self._in_member = True
            before = self._z.copy()
            try:
                out = self._z.decompress(data, OUT_CHUNK)
            except zlib.error as exc:
                self._error = DamagedInput(f"the gzip data is corrupt ({exc})")
                out = _salvage(before, data)
                if not out:
                    raise self._error from None
                return out
            if self._z.eof:
                self._input = self._z.unused_data
                self._z = zlib.decompressobj(GZIP_WBITS)
                self._in_member = False
            else:
                self._input = self._z.unconsumed_tail
            if out:
                return out


def _salvage(z: zlib._Decompress, data: bytes) -> bytes:
    """What ``z`` (a copy taken before ``data`` was fed) puts out before the error in ``data``."""
    pieces: list[bytes] = []
    for start in range(0, len(data), SALVAGE_STEP):
        try:
            pieces.append(z.decompress(data[start:start + SALVAGE_STEP]))
        except zlib.error:
            break
    return b"".join(pieces)
