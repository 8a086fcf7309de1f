"""Bytes of an input file as text: one rule for every format."""

from __future__ import annotations

import codecs

from .errors import ScanError


def decode(file: str, data: bytes) -> str:
    """UTF-8 (with or without BOM), or UTF-16 with a BOM; anything else is a ScanError with the line."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ScanError(file, "not UTF-16 text") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScanError(file, "not UTF-8 text", line=data[: exc.start].count(b"\n") + 1) from None
