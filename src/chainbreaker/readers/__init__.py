"""Readers: files, folders and archives -> columnar event batches (chainbreaker.events)."""

from chainbreaker.readers.base import DEFAULT_BATCH_SIZE, InputFile, Reader, ReadReport, ReadWarning

__all__ = ["DEFAULT_BATCH_SIZE", "InputFile", "ReadReport", "ReadWarning", "Reader"]
