"""pstlib: read (and verify) Microsoft Outlook PST and OST files in pure Python."""

from pstlib.errors import (
    BlockError,
    BlockNotFound,
    CRCMismatch,
    HeaderError,
    LimitExceeded,
    LTPError,
    MessagingError,
    NDBError,
    NodeNotFound,
    PageError,
    PSTError,
    UnsupportedFormat,
)
from pstlib import tags
from pstlib.limits import Limits
from pstlib.ndb.block import BBTEntry
from pstlib.ndb.header import Header
from pstlib.ltp.namedprops import NamedProperties
from pstlib.ltp.node import Node
from pstlib.ltp.propertycontext import PropertyContext
from pstlib.ltp.proptypes import PropertyType
from pstlib.ltp.tablecontext import Row, TableContext
from pstlib.ndb.node import NodeStream
from pstlib.pstfile import NBTEntry, PSTFile, open

__version__ = "0.1.0"

__all__ = [
    "BBTEntry",
    "BlockError",
    "BlockNotFound",
    "CRCMismatch",
    "Header",
    "HeaderError",
    "LTPError",
    "LimitExceeded",
    "Limits",
    "MessagingError",
    "NBTEntry",
    "NamedProperties",
    "NDBError",
    "Node",
    "NodeNotFound",
    "NodeStream",
    "PSTError",
    "PSTFile",
    "PropertyContext",
    "PropertyType",
    "Row",
    "TableContext",
    "PageError",
    "UnsupportedFormat",
    "open",
    "tags",
]
