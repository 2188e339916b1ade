"""The reader registry: readers keyed by name, duplicates refused, tried in priority order."""

from __future__ import annotations

from chainbreaker.readers.base import InputFile, Reader

_REGISTRY: dict[str, type[Reader]] = {}


def register(cls: type[Reader]) -> type[Reader]:
    """Class decorator: add a reader to the registry (a second reader with the same name is an error)."""
    if cls.name in _REGISTRY:
        raise ValueError(f"reader {cls.name!r} is already registered by {_REGISTRY[cls.name].__qualname__}")
    _REGISTRY[cls.name] = cls
    return cls


def registered_readers() -> list[type[Reader]]:
    """Every registered reader, in the order they are tried (priority, then name)."""
    return sorted(_REGISTRY.values(), key=lambda r: (r.priority, r.name))


def reader_for(file: InputFile, head: bytes | None = None) -> Reader | None:
    """The first reader whose ``detect`` accepts the file, or None."""
    head = file.head() if head is None else head
    for cls in registered_readers():
        if cls.detect(file, head):
            return cls()
    return None
