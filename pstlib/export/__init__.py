"""Export a store's messages (EML, mbox, JSON Lines, Parquet) and attachments to files."""

from pstlib.export.eml import to_email, write_eml
from pstlib.export.jsonl import message_record, write_jsonl
from pstlib.export.mbox import export_mbox
from pstlib.export.names import safe_name, unique_path
from pstlib.export.parquet import write_parquet
from pstlib.export.report import ExportReport, FailedItem
from pstlib.export.run import FORMATS, export_attachments, export_store, find_folder

__all__ = [
    "FORMATS",
    "ExportReport",
    "FailedItem",
    "export_attachments",
    "export_mbox",
    "export_store",
    "find_folder",
    "message_record",
    "safe_name",
    "to_email",
    "unique_path",
    "write_eml",
    "write_jsonl",
    "write_parquet",
]
