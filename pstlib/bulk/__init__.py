"""Many stores at once: ``scan`` reads the message records of many PST/OST files in a pool
of processes, cutting large stores into tasks; ``records`` says what a record holds."""

from pstlib.bulk.records import DEFAULT_FIELDS, ERROR_ITEMS, FIELDS
from pstlib.bulk.run import Part, scan, scan_parts
from pstlib.bulk.tasks import TASK_MESSAGES

__all__ = ["DEFAULT_FIELDS", "ERROR_ITEMS", "FIELDS", "TASK_MESSAGES", "Part", "scan", "scan_parts"]
