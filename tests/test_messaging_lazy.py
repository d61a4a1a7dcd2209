"""``messaging.lazy.cached_property``: functools' semantics without the lock."""

from __future__ import annotations

from pstlib.messaging.lazy import cached_property


class Counted:
    def __init__(self) -> None:
        self.calls = 0

    @cached_property
    def value(self) -> int:
        self.calls += 1
        return self.calls * 10


def test_computes_once_per_instance() -> None:
    first, second = Counted(), Counted()
    assert (first.value, first.value, first.calls) == (10, 10, 1)
    assert second.value == 10
    assert first.__dict__["value"] == 10


def test_deleting_the_value_recomputes_it() -> None:
    counted = Counted()
    assert counted.value == 10
    del counted.value
    assert counted.value == 20


def test_class_access_gives_the_descriptor() -> None:
    assert isinstance(Counted.value, cached_property)
