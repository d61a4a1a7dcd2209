"""Recipients: rows of a message's recipient table (subnode 0x692, [MS-PST] 2.4.5.2)."""

from __future__ import annotations

from typing import Any

from pstlib.ltp.tablecontext import Row
from pstlib.messaging import values
from pstlib.tags import PropertyId

RECIPIENT_KINDS = {1: "to", 2: "cc", 3: "bcc"}
RECIPIENT_FLAGS = 0x10000000 | 0x80000000
"""MAPI_P1 and MAPI_SUBMITTED, [MS-OXCMSG] 2.2.3.1: flags on PidTagRecipientType."""


class Recipient:
    """One recipient: name, address, address type and kind."""

    def __init__(self, row: Row) -> None:
        self.properties = row

    def __getitem__(self, prop_id: int) -> Any:
        return self.properties[prop_id]

    @property
    def name(self) -> str | None:
        return values.text(self.properties, PropertyId.PidTagDisplayName)

    @property
    def address_type(self) -> str | None:
        return values.text(self.properties, PropertyId.PidTagAddressType)

    @property
    def email(self) -> str | None:
        """The SMTP address where known (PidTagSmtpAddress), else the stored address."""
        smtp = values.text(self.properties, PropertyId.PidTagSmtpAddress)
        return smtp or values.text(self.properties, PropertyId.PidTagEmailAddress)

    @property
    def kind(self) -> str:
        """"to", "cc", "bcc" or "other", from PidTagRecipientType without its flag bits."""
        value = (values.integer(self.properties, PropertyId.PidTagRecipientType) or 0) & ~RECIPIENT_FLAGS
        return RECIPIENT_KINDS.get(value & 0xFFFFFFFF, "other")

    def __repr__(self) -> str:
        return f"Recipient({self.kind}: {self.name!r} <{self.email}>)"
