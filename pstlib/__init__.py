"""pstlib: read (and verify) Microsoft Outlook PST and OST files in pure Python."""

from typing import Any

from pstlib import tags
from pstlib.errors import (
    BlockError,
    BlockNotFound,
    BTHError,
    CRCMismatch,
    HeaderError,
    HeapError,
    LimitExceeded,
    LTPError,
    MessagingError,
    NamedPropertyError,
    NDBError,
    NodeNotFound,
    PageError,
    PropertyContextError,
    PropertyValueError,
    PSTError,
    TableContextError,
    UnsupportedFormat,
)
from pstlib.limits import Limits
from pstlib.ltp.namedprops import NamedProperties
from pstlib.ltp.node import Node
from pstlib.ltp.propertycontext import PropertyContext
from pstlib.ltp.proptypes import PropertyType
from pstlib.ltp.tablecontext import Row, TableContext
from pstlib.ndb.block import BBTEntry
from pstlib.ndb.header import Header
from pstlib.ndb.node import NodeStream
from pstlib.pstfile import NBTEntry, PSTFile, open
from pstlib.verify import verify_file
from pstlib.writer import PSTWriter, WriterError, copy, create

__version__ = "0.1.0"

__all__ = [
    "BBTEntry",
    "BlockError",
    "BlockNotFound",
    "BTHError",
    "CRCMismatch",
    "Header",
    "HeaderError",
    "HeapError",
    "LTPError",
    "LimitExceeded",
    "Limits",
    "MessagingError",
    "NBTEntry",
    "NamedPropertyError",
    "NamedProperties",
    "NDBError",
    "Node",
    "NodeNotFound",
    "NodeStream",
    "PSTError",
    "PSTWriter",
    "WriterError",
    "copy",
    "create",
    "PSTFile",
    "PropertyContext",
    "PropertyType",
    "Row",
    "TableContext",
    "TableContextError",
    "PageError",
    "PropertyContextError",
    "PropertyValueError",
    "UnsupportedFormat",
    "open",
    "scan",
    "tags",
    "verify_file",
]


def __getattr__(name: str) -> Any:
    """``pstlib.scan`` on first use: the bulk layer imports the export records (and with them
    the ``email`` package), which ``import pstlib`` should not pay for."""
    if name == "scan":
        from pstlib.bulk import scan

        return scan
    raise AttributeError(f"module 'pstlib' has no attribute {name!r}")
