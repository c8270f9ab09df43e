"""The one reader of zip containers (xlsx workbooks): every command that opens a user's
workbook goes through :func:`open_zip`.

Before anything is inflated the zip directory is checked: the number of parts, the total
inflated size and, for every part larger than 1 MiB, the ratio of inflated to compressed
size (a 0.4 MB file holding a 400 MB shared string has a ratio of 1,000). The directory
can lie, so the same bounds hold while inflating: a part never yields more bytes than its
directory entry declares, and a corrupt deflate stream, a bad CRC or a truncated file
becomes a :class:`LoadError` naming the file and the part — never a raw ``zlib.error``.
"""
from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

from ..errors import LoadError, Report
from . import limits as _limits

RATIO_FLOOR = 1 * _limits.MiB        # parts smaller than this may compress as well as they like
_EOCD = b"PK\x05\x06"


class PartError(LoadError):
    """A part of a container cannot be inflated (corrupt, truncated, bigger than declared)."""


def _unreadable(report: Report, message: str) -> LoadError:
    report.error("unreadable", message)
    return LoadError(f"{report.file}: {message}", report)


def _declared_entries(path: Path) -> int | None:
    """The number of entries the end-of-central-directory record declares (None if absent):
    read from the last 64 KiB before zipfile builds an object per entry."""
    with open(path, "rb") as fh:
        fh.seek(0, io.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - 65_557))
        tail = fh.read()
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < 22:
        return None
    _, _, _, _, total, _, _, _ = struct.unpack("<4s4H2LH", tail[at:at + 22])
    return total


class _BoundedPart(io.RawIOBase):
    """A part being inflated: at most its declared size, errors named."""

    def __init__(self, inner, info: zipfile.ZipInfo, owner: "BoundedZip"):
        super().__init__()
        self._inner, self._info, self._owner = inner, info, owner
        self._seen = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        try:
            data = self._inner.read(n)
        except (zlib.error, zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
            raise self._owner.part_error(self._info, exc) from None
        self._seen += len(data)
        if self._seen > self._info.file_size:
            raise self._owner.part_error(self._info, f"inflates past the {self._info.file_size:,} bytes"
                                         " its directory entry declares")
        return data

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def read1(self, n: int = -1) -> bytes:
        return self.read(n)

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            super().close()


class BoundedZip(zipfile.ZipFile):
    """A ZipFile whose parts inflate within their declared sizes, with named errors."""

    report: Report

    def open(self, name, mode="r", pwd=None, *, force_zip64=False):
        if mode != "r":
            raise ValueError("a bounded container is read-only")
        info = name if isinstance(name, zipfile.ZipInfo) else self.getinfo(name)
        try:
            inner = super().open(info, mode, pwd)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
            raise self.part_error(info, exc) from None
        return _BoundedPart(inner, info, self)

    def part_error(self, info: zipfile.ZipInfo, exc) -> PartError:
        if isinstance(exc, str):
            what = exc
        elif isinstance(exc, zlib.error):
            what = f"corrupt compressed data ({exc})"
        elif isinstance(exc, EOFError):
            what = "the file ends inside it (truncated)"
        else:
            what = f"{type(exc).__name__}: {exc}"
        message = f"cannot read part {info.filename!r} of the workbook: {what}; the file is damaged"
        self.report.error("unreadable", message)
        return PartError(f"{self.report.file}: {message}", self.report)


def open_zip(path: str | Path, report: Report) -> BoundedZip:
    """Open a zip container after checking its directory against the limits; the caller
    closes it. Raises :class:`LoadError` (reported) for a file that is not a zip, a damaged
    directory, or a directory past a limit."""
    path = Path(path)
    lim = _limits.current()
    try:
        declared = _declared_entries(path)
    except OSError as exc:
        raise _unreadable(report, f"cannot read file: {exc.strerror or exc}") from None
    if declared is not None and declared > lim.parts:
        raise _limits.refuse(report, "parts", f"the zip directory declares {declared:,} parts")
    try:
        zf = BoundedZip(path)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, struct.error, ValueError,
            NotImplementedError) as exc:
        raise _unreadable(report, f"not an xlsx workbook: the zip container cannot be read ({exc})") from None
    zf.report = report
    try:
        _check_directory(zf.infolist(), report, lim)
    except BaseException:
        zf.close()
        raise
    return zf


def _check_directory(infos: list[zipfile.ZipInfo], report: Report, lim: _limits.Limits) -> None:
    if len(infos) > lim.parts:
        raise _limits.refuse(report, "parts", f"the zip directory lists {len(infos):,} parts")
    for i in infos:
        if i.file_size > RATIO_FLOOR and i.file_size > lim.ratio * max(i.compress_size, 1):
            raise _limits.refuse(report, "ratio", f"part {i.filename!r} inflates {i.compress_size:,} bytes"
                                 f" to {i.file_size:,} ({i.file_size / max(i.compress_size, 1):,.0f} times):"
                                 " a zip bomb, not a spreadsheet")
    total = sum(i.file_size for i in infos)
    if total > lim.unpacked_bytes:
        big = max(infos, key=lambda i: i.file_size)
        raise _limits.refuse(report, "unpacked_mb", f"the workbook unpacks to {total / _limits.MiB:,.0f} MiB"
                             f" (part {big.filename!r} alone {big.file_size / _limits.MiB:,.0f} MiB)")


__all__ = ["BoundedZip", "PartError", "RATIO_FLOOR", "open_zip"]
