"""Names for common property ids ([MS-OXPROPS]), so callers need no magic numbers.

``PropertyContext`` and table rows are keyed by the 16-bit property id, so
``pc[tags.PidTagSubject]`` reads the subject whatever type it is stored as.
"""

from __future__ import annotations

from enum import IntEnum


class PropertyId(IntEnum):
    """16-bit property ids of the tags pstlib's users need most."""

    PidTagNameidBucketCount = 0x0001
    PidTagNameidStreamGuid = 0x0002
    PidTagNameidStreamEntry = 0x0003
    PidTagNameidStreamString = 0x0004
    PidTagImportance = 0x0017
    PidTagMessageClass = 0x001A
    PidTagSensitivity = 0x0036
    PidTagSubject = 0x0037
    PidTagClientSubmitTime = 0x0039
    PidTagSentRepresentingSearchKey = 0x003B
    PidTagReceivedByEntryId = 0x003F
    PidTagReceivedByName = 0x0040
    PidTagSentRepresentingEntryId = 0x0041
    PidTagSentRepresentingName = 0x0042
    PidTagReceivedRepresentingName = 0x0044
    PidTagSentRepresentingAddressType = 0x0064
    PidTagSentRepresentingEmailAddress = 0x0065
    PidTagConversationTopic = 0x0070
    PidTagConversationIndex = 0x0071
    PidTagReceivedByAddressType = 0x0075
    PidTagReceivedByEmailAddress = 0x0076
    PidTagTransportMessageHeaders = 0x007D
    PidTagRecipientType = 0x0C15
    PidTagSenderEntryId = 0x0C19
    PidTagSenderName = 0x0C1A
    PidTagSenderSearchKey = 0x0C1D
    PidTagSenderAddressType = 0x0C1E
    PidTagSenderEmailAddress = 0x0C1F
    PidTagDisplayBcc = 0x0E02
    PidTagDisplayCc = 0x0E03
    PidTagDisplayTo = 0x0E04
    PidTagMessageDeliveryTime = 0x0E06
    PidTagMessageFlags = 0x0E07
    PidTagMessageSize = 0x0E08
    PidTagResponsibility = 0x0E0F
    PidTagHasAttachments = 0x0E1B
    PidTagNormalizedSubject = 0x0E1D
    PidTagRtfInSync = 0x0E1F
    PidTagAttachSize = 0x0E20
    PidTagAttachNumber = 0x0E21
    PidTagReplItemid = 0x0E30
    PidTagReplChangenum = 0x0E33
    PidTagReplVersionHistory = 0x0E34
    PidTagReplFlags = 0x0E38
    PidTagRead = 0x0E69
    PidTagRecordKey = 0x0FF9
    PidTagObjectType = 0x0FFE
    PidTagEntryId = 0x0FFF
    PidTagBody = 0x1000
    PidTagRtfSyncBodyCrc = 0x1006
    PidTagRtfSyncBodyCount = 0x1007
    PidTagRtfSyncBodyTag = 0x1008
    PidTagRtfCompressed = 0x1009
    PidTagHtml = 0x1013
    PidTagInternetMessageId = 0x1035
    PidTagInternetReferences = 0x1039
    PidTagInReplyToId = 0x1042
    PidTagRowid = 0x3000
    PidTagDisplayName = 0x3001
    PidTagAddressType = 0x3002
    PidTagEmailAddress = 0x3003
    PidTagComment = 0x3004
    PidTagCreationTime = 0x3007
    PidTagLastModificationTime = 0x3008
    PidTagSearchKey = 0x300B
    PidTagValidFolderMask = 0x35DF
    PidTagIpmSubtreeEntryId = 0x35E0
    PidTagIpmWastebasketEntryId = 0x35E3
    PidTagFinderEntryId = 0x35E7
    PidTagContentCount = 0x3602
    PidTagContentUnreadCount = 0x3603
    PidTagSubfolders = 0x360A
    PidTagContainerClass = 0x3613
    PidTagAttachDataBinary = 0x3701
    PidTagAttachEncoding = 0x3702
    PidTagAttachExtension = 0x3703
    PidTagAttachFilename = 0x3704
    PidTagAttachMethod = 0x3705
    PidTagAttachLongFilename = 0x3707
    PidTagAttachPathname = 0x3708
    PidTagAttachRendering = 0x3709
    PidTagAttachTag = 0x370A
    PidTagRenderingPosition = 0x370B
    PidTagAttachLongPathname = 0x370D
    PidTagAttachMimeTag = 0x370E
    PidTagAttachContentId = 0x3712
    PidTagAttachContentLocation = 0x3713
    PidTagAttachFlags = 0x3714
    PidTagDisplayType = 0x3900
    PidTagSmtpAddress = 0x39FE
    PidTagAccount = 0x3A00
    PidTagGivenName = 0x3A06
    PidTagSurname = 0x3A11
    PidTagSendRichInfo = 0x3A40
    PidTagInternetCodepage = 0x3FDE
    PidTagMessageLocaleId = 0x3FF1
    PidTagCreatorName = 0x3FF8
    PidTagLastModifierName = 0x3FFA
    PidTagMessageCodepage = 0x3FFD
    PidTagSenderSmtpAddress = 0x5D01
    PidTagSentRepresentingSmtpAddress = 0x5D02
    PidTagRecipientDisplayName = 0x5FF6
    PidTagLtpRowId = 0x67F2
    PidTagLtpRowVer = 0x67F3
    PidTagPstPassword = 0x67FF
    PidTagAttachmentHidden = 0x7FFE


globals().update(PropertyId.__members__)

__all__ = ["PropertyId", *PropertyId.__members__]
