"""mkdocs hook: drop griffe's one warning about ``pstlib.tags.__all__``.

``pstlib/tags.py`` builds ``__all__`` from ``PropertyId.__members__`` at import
time, which griffe's static analysis cannot follow, so it warns (and
``mkdocs build --strict`` would abort).  The names are all there at run time;
only that exact message is dropped, every other warning still fails the build.
"""

from __future__ import annotations

import logging

_QUIET = "Unsupported item in pstlib.tags.__all__"


class _QuietTagsAll(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return _QUIET not in record.getMessage()


def on_startup(**kwargs: object) -> None:
    logger = logging.getLogger("mkdocs.plugins.griffe")
    if not any(isinstance(f, _QuietTagsAll) for f in logger.filters):
        logger.addFilter(_QuietTagsAll())
