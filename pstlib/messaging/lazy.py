"""``cached_property`` without the lock that Python 3.10 and 3.11 take on first access.

There, ``functools.cached_property`` computes every value under one lock per
decorated function, shared by all instances (3.12 dropped it).  A walk
computes the properties of every message and every attachment once each, so
the lock is paid per object: about 3% of a walk of an attachment-heavy store.
Without it, two threads may compute the same value at once and one result wins,
as in 3.12; each is a fresh read of the same bytes.
"""

from __future__ import annotations

import functools
from typing import Any


class cached_property(functools.cached_property):
    """``functools.cached_property`` as Python 3.12 has it: no lock."""

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = instance.__dict__[self.attrname] = self.func(instance)
        return value
