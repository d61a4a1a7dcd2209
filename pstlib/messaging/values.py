"""Typed reads of the properties the messaging API exposes.

A damaged or odd file can store a well-known property with an unexpected
type (a display name as binary, a count as a string).  The API promises
``str``, ``int``, ``datetime`` or ``bytes``; a value of another type reads as
absent (None) rather than surprising the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any


def text(properties: Mapping[int, Any], prop_id: int) -> str | None:
    value = properties.get(prop_id)
    return value if isinstance(value, str) else None


def integer(properties: Mapping[int, Any], prop_id: int) -> int | None:
    value = properties.get(prop_id)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def time(properties: Mapping[int, Any], prop_id: int) -> datetime | None:
    value = properties.get(prop_id)
    return value if isinstance(value, datetime) else None


def binary(properties: Mapping[int, Any], prop_id: int) -> bytes | None:
    value = properties.get(prop_id)
    return value if isinstance(value, bytes) else None
