"""Strings from a store made fit for output formats that must encode them.

pstlib decodes Unicode properties with ``surrogatepass``, so a damaged or
hostile string can hold lone surrogates that UTF-8 (email, JSON, Parquet)
refuses; headers must also hold no line breaks or control characters.
"""

from __future__ import annotations

import re

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_BREAKS_AND_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def encodable(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD."""
    return _LONE_SURROGATE.sub("\ufffd", text)


def one_line(text: str) -> str:
    """``text`` encodable, with each run of line breaks and controls (tabs too) made one space."""
    return _BREAKS_AND_CONTROLS.sub(" ", encodable(text)).strip()
