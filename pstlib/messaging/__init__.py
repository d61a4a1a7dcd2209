"""The messaging layer of [MS-PST] 2.4: store, folders, messages, recipients, attachments."""
