"""Where the lake's files live: a local folder or an S3 prefix, behind one small path interface.

``warehouse:`` and ``raw:`` may be local folders or ``s3://bucket/prefix`` URIs. A local location
is a :class:`pathlib.Path` as it always was (symbolic-link rules and all); an S3 one is an
:class:`S3Path`, which offers the part of ``Path`` that lakemend uses — join, ``relative_to``,
``glob``, ``stat``, ``open``, ``unlink`` — over ``pyarrow.fs.S3FileSystem``. So listings,
fingerprints, ``gaps``, ``late``, ``verify`` and ``vacuum`` see an S3 lake exactly as a local one.

S3 settings: ``aws.s3.endpoint_url`` (else ``$AWS_ENDPOINT_URL_S3``, else ``$AWS_ENDPOINT_URL``),
``aws.s3.path_style`` and ``aws.region``; credentials from the standard AWS environment variables
or profile (pyarrow's default chain), never from lakemend.yaml.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO, Union
from urllib.parse import unquote, urlparse

from lakemend.errors import ConfigError, IngestError

if TYPE_CHECKING:
    from pyarrow.fs import FileSystem

    from lakemend.project.config import AwsConfig

S3_ENDPOINT_ENV = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
"""Checked in this order when ``aws.s3.endpoint_url`` is unset (as boto3 does; pyarrow does not)."""


def is_s3(location: str) -> bool:
    return location.startswith("s3://")


def s3_uri(uri: str) -> str | None:
    """``s3://bucket/key`` of an object URI (``s3://``, ``s3a://`` or ``s3n://``, as Iceberg writes
    them); None for another store."""
    parsed = urlparse(uri)
    return f"s3://{parsed.netloc}{parsed.path}" if parsed.scheme in ("s3", "s3a", "s3n") and parsed.netloc else None


def local_path(uri: str) -> str | None:
    """The local filesystem path of a ``file://`` URI or an absolute path; None for another store."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return os.path.normpath(unquote(parsed.path))
    if not parsed.scheme and uri.startswith("/"):
        return os.path.normpath(uri)
    return None


@dataclass(frozen=True)
class S3Settings:
    """How to reach S3: the resolved endpoint, addressing style and region."""

    endpoint_url: str | None = None
    path_style: bool = False
    region: str = "us-east-1"

    @classmethod
    def from_config(cls, aws: AwsConfig) -> S3Settings:
        endpoint = aws.s3.endpoint_url or next((os.environ[n] for n in S3_ENDPOINT_ENV if os.environ.get(n)), None)
        return cls(endpoint, aws.s3.path_style, aws.region)

    def pyiceberg_properties(self) -> dict[str, str]:
        """The same settings as pyiceberg FileIO properties (``s3.*``)."""
        props = {"s3.region": self.region}
        if self.endpoint_url:
            props["s3.endpoint"] = self.endpoint_url
            if not self.path_style:
                props["s3.force-virtual-addressing"] = "true"
        return props


@lru_cache(maxsize=8)
def s3_filesystem(settings: S3Settings) -> FileSystem:
    """One pyarrow S3 filesystem per setting (credentials: the standard AWS chain)."""
    from pyarrow.fs import S3FileSystem

    kwargs: dict[str, Any] = {"region": settings.region}
    if settings.endpoint_url:
        parsed = urlparse(settings.endpoint_url)
        if not parsed.scheme or not parsed.netloc:
            raise ConfigError(f"S3 endpoint {settings.endpoint_url!r} is not a URL",
                              "give aws.s3.endpoint_url (or $AWS_ENDPOINT_URL_S3) as http(s)://host:port")
        kwargs.update(endpoint_override=parsed.netloc + parsed.path.rstrip("/"), scheme=parsed.scheme,
                      force_virtual_addressing=not settings.path_style)
    return S3FileSystem(**kwargs)


@dataclass(frozen=True)
class StatResult:
    """What lakemend reads of ``os.stat``: size and modification time (seconds since the epoch)."""

    st_size: int
    st_mtime: float

    @classmethod
    def of(cls, info: Any) -> StatResult:
        """Of an S3 object: whole seconds, because listings (milliseconds) and HEAD (seconds) differ."""
        return cls(int(info.size or 0), float(int(info.mtime.timestamp())) if info.mtime else 0.0)


_GLOB_TOKEN = re.compile(r"\*\*/|\*\*|\*|\?|\[!?[^\]/]*\]|[^*?\[]+|\[")


def glob_regex(pattern: str) -> re.Pattern[str]:
    """``Path.glob`` semantics for a relative key: ``*`` and ``?`` stay within one folder, ``**`` spans folders."""
    out = []
    for token in _GLOB_TOKEN.findall(pattern):
        if token == "**/":
            out.append("(?:[^/]+/)*")
        elif token == "**":
            out.append(".*")
        elif token == "*":
            out.append("[^/]*")
        elif token == "?":
            out.append("[^/]")
        elif token.startswith("[") and token.endswith("]") and len(token) > 1:
            body = token[1:-1]
            out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
        else:
            out.append(re.escape(token))
    return re.compile("".join(out))


def _static_prefix(pattern: str) -> str:
    """The folders of ``pattern`` before its first glob character (what a listing can start from)."""
    parts = []
    for part in pattern.split("/")[:-1]:
        if re.search(r"[*?\[]", part):
            break
        parts.append(part)
    return "/".join(parts)


class S3Path:
    """An S3 object key or prefix, ``s3://bucket/key``, with the ``Path`` methods lakemend uses.

    S3 has no folders and no links: a "folder" is a key prefix, :meth:`is_symlink` is always False.
    """

    __slots__ = ("_key", "_listed", "bucket", "settings")

    def __init__(self, uri: str, settings: S3Settings, listed: StatResult | None = None) -> None:
        parsed = urlparse(uri)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError(f"not an s3:// URI: {uri!r}")
        self.bucket = parsed.netloc
        self._key = "/".join(part for part in parsed.path.split("/") if part and part != ".")
        self.settings = settings
        self._listed = listed  # the size and mtime a listing gave: stat() needs no request then

    # ----- naming ---------------------------------------------------------------------------------
    @property
    def key(self) -> str:
        return self._key

    @property
    def fs_path(self) -> str:
        """The ``bucket/key`` form pyarrow's filesystem takes."""
        return f"{self.bucket}/{self._key}" if self._key else self.bucket

    def as_uri(self) -> str:
        return f"s3://{self.fs_path}"

    def as_posix(self) -> str:
        return self.as_uri()

    def __str__(self) -> str:
        return self.as_uri()

    def __repr__(self) -> str:
        return f"S3Path({self.as_uri()!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, S3Path) and other.as_uri() == self.as_uri()

    def __hash__(self) -> int:
        return hash(self.as_uri())

    def __lt__(self, other: S3Path) -> bool:
        return self.as_uri() < other.as_uri()

    @property
    def name(self) -> str:
        return self._key.rsplit("/", 1)[-1] if self._key else self.bucket

    @property
    def parent(self) -> S3Path:
        return S3Path(f"s3://{self.bucket}/{self._key.rsplit('/', 1)[0] if '/' in self._key else ''}", self.settings)

    def __truediv__(self, other: str | PurePosixPath) -> S3Path:
        return S3Path(f"{self.as_uri()}/{PurePosixPath(other).as_posix()}", self.settings)

    def relative_to(self, other: S3Path) -> PurePosixPath:
        if not isinstance(other, S3Path) or other.bucket != self.bucket:
            raise ValueError(f"{self} is not inside {other}")
        if not other.key:
            return PurePosixPath(self._key)
        if self._key == other.key:
            return PurePosixPath(".")
        if not self._key.startswith(other.key + "/"):
            raise ValueError(f"{self} is not inside {other}")
        return PurePosixPath(self._key[len(other.key) + 1:])

    def resolve(self) -> S3Path:
        return self

    # ----- the filesystem -------------------------------------------------------------------------
    @property
    def fs(self) -> FileSystem:
        return s3_filesystem(self.settings)

    def _info(self) -> Any:
        return self.fs.get_file_info(self.fs_path)

    def stat(self) -> StatResult:
        """Size and mtime: as listed when this path came from a listing, else from a HEAD request."""
        from pyarrow.fs import FileType

        if self._listed is not None:
            return self._listed
        info = self._info()
        if info.type == FileType.NotFound:
            raise FileNotFoundError(2, "No such object", self.as_uri())
        return StatResult.of(info)

    def lstat(self) -> StatResult:
        return self.stat()

    def exists(self) -> bool:
        from pyarrow.fs import FileType

        return self._info().type != FileType.NotFound

    def is_file(self) -> bool:
        from pyarrow.fs import FileType

        return self._info().type == FileType.File

    def is_dir(self) -> bool:
        return any(True for _ in self.files())

    def is_symlink(self) -> bool:
        return False

    def mkdir(self, parents: bool = False, exist_ok: bool = False) -> None:
        """Nothing to do: S3 prefixes exist as soon as an object is written under them."""

    def files(self) -> Iterator[tuple[S3Path, StatResult]]:
        """Every object under this prefix (recursively), with its size and modification time."""
        from pyarrow.fs import FileSelector, FileType

        selector = FileSelector(self.fs_path, recursive=True, allow_not_found=True)
        for info in self.fs.get_file_info(selector):
            if info.type == FileType.File:
                stat = StatResult.of(info)
                yield S3Path(f"s3://{info.path}", self.settings, stat), stat

    def glob(self, pattern: str) -> list[S3Path]:
        """The objects whose key below this prefix matches ``pattern`` (``Path.glob`` rules), sorted."""
        regex = glob_regex(pattern)
        base = self / _static_prefix(pattern) if _static_prefix(pattern) else self
        return sorted(p for p, _ in base.files() if regex.fullmatch(p.relative_to(self).as_posix()))

    def open(self, mode: str = "rb") -> BinaryIO:
        if mode != "rb":
            raise ValueError("S3 objects are opened for reading only (rb)")
        return self.fs.open_input_stream(self.fs_path)  # type: ignore[return-value]

    def read_bytes(self) -> bytes:
        with self.open() as handle:
            return handle.read()

    def write_bytes(self, data: bytes) -> None:
        with self.fs.open_output_stream(self.fs_path) as out:
            out.write(data)

    def unlink(self, missing_ok: bool = False) -> None:
        self._listed = None
        try:
            self.fs.delete_file(self.fs_path)
        except FileNotFoundError:
            if not missing_ok:
                raise


Location = Union[Path, S3Path]
"""A local folder or file, or an S3 prefix or object."""


def location(value: str, root: Path, settings: S3Settings) -> Location:
    """``value`` from lakemend.yaml as a location: ``s3://`` → :class:`S3Path`, else an absolute Path."""
    if is_s3(value):
        return S3Path(value, settings)
    if value.startswith("file://"):
        from urllib.parse import unquote

        return Path(unquote(urlparse(value).path))
    path = Path(value)
    return path if path.is_absolute() else (root / path).resolve()


def location_uri(where: Location) -> str:
    """``file:///abs/path`` or ``s3://bucket/key``: the form the Iceberg catalog records."""
    return where.as_uri()


def file_uri_to_location(uri: str, settings: S3Settings) -> Location:
    """A file URI as a catalog records it (``file://``, a bare path or ``s3://``) as a location."""
    if is_s3(uri):
        return S3Path(uri, settings)
    if uri.startswith("s3a://") or uri.startswith("s3n://"):
        return S3Path("s3://" + uri.split("://", 1)[1], settings)
    return location(uri, Path("/"), settings)


def walk_files(root: Location, skip: set[str] = frozenset()) -> Iterator[tuple[str, StatResult]]:  # type: ignore[assignment]
    """Every regular file under ``root`` as (path or URI, stat); local links are not followed or listed.

    ``skip``: folders (as returned here: a path, or an ``s3://`` URI) whose files are left out.
    """
    if isinstance(root, S3Path):
        prefixes = tuple(s.rstrip("/") + "/" for s in skip)
        for path, stat in root.files():
            uri = path.as_uri()
            if not uri.startswith(prefixes):
                yield uri, stat
        return
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if os.path.join(folder, d) not in skip]
        for name in names:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                continue
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            yield os.path.normpath(path), StatResult(st.st_size, st.st_mtime)


def stat_file(path: str, settings: S3Settings) -> StatResult:
    """Size and mtime of a file or object named as :func:`walk_files` names it."""
    if is_s3(path):
        return S3Path(path, settings).stat()
    st = os.stat(path)
    return StatResult(st.st_size, st.st_mtime)


def delete_file(path: str, settings: S3Settings) -> None:
    """Delete one file or object named as :func:`walk_files` names it (``FileNotFoundError`` when gone)."""
    if is_s3(path):
        S3Path(path, settings).unlink()
    else:
        os.remove(path)


def listed_objects(location: str, settings: S3Settings) -> set[str]:
    """Every object under an S3 table location, as ``s3://`` URIs (one listing instead of a HEAD per file)."""
    return {path.as_uri() for path, _ in S3Path(location, settings).files()}


def object_exists(uri: str, listed: set[str] | None = None) -> bool:
    """Whether a data file is there: a local file, or an S3 object in ``listed`` (the table's
    objects; None: not listed, taken as there)."""
    s3 = s3_uri(uri)
    if s3 is not None:
        return listed is None or s3 in listed
    path = local_path(uri)
    return True if path is None else os.path.exists(path)


def mtime_iso(stat: StatResult | os.stat_result) -> str:
    """A modification time as fingerprints record it."""
    return dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC).isoformat()


def sha256_of(path: Location) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def local_copies(raw: Location, files: list[tuple[str, str]]) -> Iterator[list[tuple[Path, str]]]:
    """Local readable paths for landing files: ``files`` is (path relative to ``raw``, expected SHA-256).

    A local landing zone yields its own files unchanged. From S3 each object is downloaded into a
    private temporary folder (removed afterwards), and its SHA-256 must equal the fingerprint the
    job recorded: an object replaced between listing and reading fails the job instead of
    ingesting content other than what the ledger says.
    """
    if not isinstance(raw, S3Path):
        yield [(raw / relative, relative) for relative, _ in files]
        return
    folder = tempfile.mkdtemp(prefix="lakemend-landing-")
    try:
        out = []
        for i, (relative, expected) in enumerate(files):
            target = Path(folder) / f"{i:05d}-{PurePosixPath(relative).name}"
            digest = hashlib.sha256()
            with (raw / relative).open() as source, target.open("wb") as sink:
                for chunk in iter(lambda: source.read(1 << 20), b""):  # noqa: B023 - used at once
                    digest.update(chunk)
                    sink.write(chunk)
            if expected and digest.hexdigest() != expected:
                raise IngestError(f"{relative}: changed in the landing zone after it was fingerprinted ({raw / relative})",
                                  "the source is still writing it: wait for the delivery to finish and run again")
            out.append((target, relative))
        yield out
    finally:
        shutil.rmtree(folder, ignore_errors=True)
