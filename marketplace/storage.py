"""Where exports and dataset snapshots live: files on disk, named by their sha256.

A file is written to a temporary name in the store's directory, flushed to disk, then
renamed to `<sha256>.<suffix>`: a reader never sees half a file, a crash leaves at most
a stray temporary file (`.tmp-*`, swept by whoever cleans the directory), and the same
content is stored once. Nothing here is served as a static file: downloads go through
views that check who may read them.
"""

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

_NAME_RE = re.compile(r"^[0-9a-f]{64}\.[a-z0-9]{1,10}$")
_CHUNK = 1024 * 1024


def store_dir() -> Path:
    directory = Path(settings.DATASET_STORAGE_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


class HashingWriter:
    """A binary file wrapper that counts and hashes what is written through it."""

    def __init__(self, file: BinaryIO) -> None:
        self.file = file
        self.size = 0
        self._sha256 = hashlib.sha256()

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._sha256.update(data)
        self.size += len(data)
        return self.file.write(data)

    def flush(self) -> None:
        self.file.flush()

    def hexdigest(self) -> str:
        return self._sha256.hexdigest()


@dataclass(frozen=True)
class StoredFile:
    file_name: str  # under store_dir()
    sha256: str
    size: int


@contextmanager
def store_writer(*, suffix: str) -> Iterator[tuple[HashingWriter, list[StoredFile]]]:
    """Write a new stored file: `with store_writer(suffix="jsonl") as (out, result):`.

    On a clean exit the bytes are flushed, fsynced and renamed to their sha256 name,
    and `result` holds the StoredFile. On an exception the temporary file is removed
    and nothing is stored.
    """
    if not re.fullmatch(r"[a-z0-9]{1,10}", suffix):
        raise ValueError(f"bad suffix {suffix!r}")
    directory = store_dir()
    fd, temp_name = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    result: list[StoredFile] = []
    try:
        with os.fdopen(fd, "wb") as raw:
            writer = HashingWriter(raw)
            yield writer, result
            raw.flush()
            os.fsync(raw.fileno())
        sha256 = writer.hexdigest()
        file_name = f"{sha256}.{suffix}"
        os.replace(temp_name, directory / file_name)  # same content: same bytes, harmless
        result.append(StoredFile(file_name=file_name, sha256=sha256, size=writer.size))
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise


def store_path(file_name: str) -> Path:
    """The path of a stored file. ValueError for a name the store cannot have made."""
    if not _NAME_RE.match(file_name):
        raise ValueError(f"not a stored file name: {file_name!r}")
    return store_dir() / file_name


def store_open(file_name: str) -> BinaryIO:
    """Open a stored file for reading (FileNotFoundError if it is gone)."""
    return store_path(file_name).open("rb")


def file_sha256(file: BinaryIO) -> tuple[str, int]:
    """(sha256 hex, size) of what is left to read in `file`, in constant memory."""
    digest = hashlib.sha256()
    size = 0
    while chunk := file.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size
