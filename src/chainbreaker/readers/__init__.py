"""Readers: files, folders and archives -> columnar event batches (chainbreaker.events).

``read_paths`` is the entry point; reader modules of this package register themselves on first
use of the registry (:func:`chainbreaker.readers.registry.load_readers`).
"""

from chainbreaker.readers.base import DEFAULT_BATCH_SIZE, InputFile, Reader, ReadReport, ReadWarning
from chainbreaker.readers.registry import reader_for, register, registered_readers
from chainbreaker.readers.stream import fetch_record, read_paths, scan_parquet_parts, write_parquet_parts

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "InputFile",
    "ReadReport",
    "ReadWarning",
    "Reader",
    "fetch_record",
    "read_paths",
    "reader_for",
    "register",
    "registered_readers",
    "scan_parquet_parts",
    "write_parquet_parts",
]
