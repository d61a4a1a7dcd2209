"""Which code page an object's PtypString8 values are in, and its Python codec.

[MS-OXCMSG] 2.2.1.57 (PidTagMessageCodepage) names it directly.  Outlook
often stores only PidTagInternetCodepage, the MIME charset of the message
(50220, iso-2022-jp, in the corpus' Japanese files), and PidTagMessageLocaleId;
String8 values are then in the Windows ANSI code page of that language
(932 for Japanese), never in the 7-bit MIME form, so both map to it here.
"""

from __future__ import annotations

import codecs
from functools import lru_cache

DEFAULT_CODEPAGE = 1252

_ANSI_OF_INTERNET = {
    **dict.fromkeys((50220, 50221, 50222, 51932, 20932, 10001), 932),
    **dict.fromkeys((52936, 51936, 20936, 936, 54936, 10008), 936),
    **dict.fromkeys((50225, 51949, 10003), 949),
    **dict.fromkeys((51950, 20000, 20002, 10002), 950),
    **dict.fromkeys((20866, 21866, 28595, 10007), 1251),
    **dict.fromkeys((28592, 10029), 1250),
    **dict.fromkeys((28597, 10006), 1253),
    **dict.fromkeys((28598, 38598, 10005), 1255),
    **dict.fromkeys((28599, 10081), 1254),
    **dict.fromkeys((28596, 10004), 1256),
    **dict.fromkeys((28594, 28603), 1257),
    **dict.fromkeys((28601, 10021), 874),
    **dict.fromkeys((20127, 28591, 28605, 10000), 1252),
}
"""MIME/Mac code pages to the Windows ANSI code page of the same script."""

_ANSI_OF_LANGUAGE = {
    0x11: 932,  # Japanese
    0x12: 949,  # Korean
    0x19: 1251,  # Russian
    0x22: 1251,  # Ukrainian
    0x02: 1251,  # Bulgarian
    0x23: 1251,  # Belarusian
    0x1C: 1250,  # Albanian
    0x05: 1250,  # Czech
    0x0E: 1250,  # Hungarian
    0x15: 1250,  # Polish
    0x18: 1250,  # Romanian
    0x1B: 1250,  # Slovak
    0x24: 1250,  # Slovenian
    0x08: 1253,  # Greek
    0x1F: 1254,  # Turkish
    0x0D: 1255,  # Hebrew
    0x01: 1256,  # Arabic
    0x29: 1256,  # Farsi
    0x20: 1256,  # Urdu
    0x25: 1257,  # Estonian
    0x26: 1257,  # Latvian
    0x27: 1257,  # Lithuanian
    0x1E: 874,  # Thai
    0x2A: 1258,  # Vietnamese
}
_CHINESE = {0x0804: 936, 0x1004: 936, 0x0404: 950, 0x0C04: 950, 0x1404: 950}


def ansi_codepage(codepage: int) -> int:
    """The Windows ANSI code page String8 values of a message in ``codepage`` use."""
    return _ANSI_OF_INTERNET.get(codepage, codepage)


def codepage_of_locale(lcid: int) -> int | None:
    """The Windows ANSI code page of a locale id (LCID), where it is not 1252."""
    if lcid in _CHINESE:
        return _CHINESE[lcid]
    return _ANSI_OF_LANGUAGE.get(lcid & 0x3FF)


PID_TAG_MESSAGE_CODEPAGE = 0x3FFD
PID_TAG_INTERNET_CODEPAGE = 0x3FDE
PID_TAG_MESSAGE_LOCALE_ID = 0x3FF1


def object_codepage(message: int, internet: int, locale: int, default: int) -> int:
    """The code page of an object's String8 values from its three hints (0 where absent).

    PidTagMessageCodepage; else the ANSI code page of PidTagInternetCodepage;
    else that of PidTagMessageLocaleId; else ``default`` (the store's).
    """
    if message:
        return message
    if internet:
        return ansi_codepage(internet)
    return codepage_of_locale(locale) or default


_CODEC_NAMES = {
    1200: "utf-16-le",
    1201: "utf-16-be",
    65000: "utf-7",
    65001: "utf-8",
}


@lru_cache(maxsize=64)
def codec_for(codepage: int) -> str:
    """The Python codec of a Windows code page; cp1252 where Python has none (cached:
    every String8 value asks, and a store uses a handful of code pages)."""
    name = _CODEC_NAMES.get(ansi_codepage(codepage), f"cp{ansi_codepage(codepage)}")
    try:
        return codecs.lookup(name).name
    except LookupError:
        return codecs.lookup(f"cp{DEFAULT_CODEPAGE}").name
