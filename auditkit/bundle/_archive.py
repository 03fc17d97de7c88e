"""The bundle's archive: a zip whose bytes depend only on its members' names and contents.

Every member gets the same timestamp (the zip epoch), the same permissions and the same
"made on Unix" mark, and the members go in the order given, so the same files give the same
archive on any machine whose zlib deflates alike (the members' own hashes, which
verification checks, never depend on it).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

# The earliest time a zip can hold: a member's time says nothing about the run.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
# A regular file, rw-r--r--, whoever bundled it with whatever umask.
MEMBER_MODE = 0o100644
MADE_ON_UNIX = 3
CHUNK = 1 << 20
# A member is a file at the top or in one folder (catalogs/): no "..", no absolute path.
MEMBER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*(/[A-Za-z0-9][A-Za-z0-9_.\-]*)?$")


@dataclass(frozen=True)
class Member:
    """One file of a bundle: its name in the archive and its bytes (a file's, or given)."""

    name: str
    source: Path | bytes

    def open(self) -> BinaryIO:
        """The member's bytes as a readable binary stream."""
        if isinstance(self.source, bytes):
            return io.BytesIO(self.source)
        return self.source.open("rb")

    @property
    def size(self) -> int:
        """The member's length in bytes."""
        if isinstance(self.source, bytes):
            return len(self.source)
        return self.source.stat().st_size


def is_member_name(name: str) -> bool:
    """Whether ``name`` is a safe member name (a file at the top or in one folder)."""
    return MEMBER_NAME.fullmatch(name) is not None and ".." not in name


def sha256_of(member: Member) -> str:
    """The SHA-256 of a member's bytes, read in chunks."""
    digest = hashlib.sha256()
    with member.open() as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _info(name: str, size: int) -> zipfile.ZipInfo:
    """A member's header, the same for the same name and size wherever it is written."""
    info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED  # at zlib's default level
    info.create_system = MADE_ON_UNIX
    info.external_attr = MEMBER_MODE << 16
    info.file_size = size  # decides zip64 up front, as writing a stream cannot
    return info


def write_archive(path: Path, members: Sequence[Member]) -> None:
    """Write ``members``, in order, as a deterministic zip at ``path`` (whole or not at all)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with (
            os.fdopen(handle, "wb") as file,
            zipfile.ZipFile(file, "w") as archive,
        ):
            for member in members:
                size = member.size
                with member.open() as source, archive.open(_info(member.name, size), "w") as out:
                    shutil.copyfileobj(source, out, CHUNK)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
