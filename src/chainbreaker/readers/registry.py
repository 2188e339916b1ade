"""The reader registry: readers keyed by name, duplicates refused, tried in priority order.

Every module of the ``chainbreaker.readers`` package is imported on first use
(:func:`load_readers`), so a new reader only needs its module and the ``@register`` decorator.
"""

from __future__ import annotations

import importlib
import pkgutil

from chainbreaker.readers.base import InputFile, Reader, SniffedFile

_REGISTRY: dict[str, type[Reader]] = {}
_LOADED = False
_ORDERED: list[type[Reader]] | None = None  # registered_readers' answer until the next register()

#: Modules of the package that hold plumbing, not readers.
_NOT_READERS = frozenset({"base", "registry", "discover", "stream"})


def load_readers() -> None:
    """Import every reader module of the package once (each registers its readers on import)."""
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    import chainbreaker.readers as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.name not in _NOT_READERS:
            importlib.import_module(f"{package.__name__}.{module.name}")


def register(cls: type[Reader]) -> type[Reader]:
    """Class decorator: add a reader to the registry (a second reader with the same name is an error)."""
    if cls.name in _REGISTRY:
        raise ValueError(f"reader {cls.name!r} is already registered by {_REGISTRY[cls.name].__qualname__}")
    global _ORDERED
    _REGISTRY[cls.name] = cls
    _ORDERED = None
    return cls


def registered_readers() -> list[type[Reader]]:
    """Every registered reader, in the order they are tried (priority, then name).

    Asked once per input file (the sniff): the sorted list is kept until a reader registers."""
    global _ORDERED
    load_readers()
    if _ORDERED is None:
        _ORDERED = sorted(_REGISTRY.values(), key=lambda r: (r.priority, r.name))
    return list(_ORDERED)


def reader_for(file: InputFile, head: bytes | None = None) -> Reader | None:
    """The first reader whose ``detect`` accepts the file, or None."""
    head = file.head() if head is None else head
    for cls in registered_readers():
        if cls.detect(file, head):
            return cls()
    return None


def sniff(file: InputFile) -> tuple[InputFile, Reader | None]:
    """The file's reader, and the file to hand it: a :class:`SniffedFile` carrying the head the
    choice read (and a plain file's size), so the read that follows does not open it again.

    Read the returned file right away and only once (it describes the file at the sniff). A
    subclass of :class:`InputFile` with content of its own (a live tail's chunk) is kept as given.
    """
    if type(file) is not InputFile:
        return file, reader_for(file)
    sniffed = SniffedFile.of(file)
    return sniffed, reader_for(sniffed, sniffed.sniffed)
