"""Where snapshots (and incident attachments) live: a local folder or an S3 bucket/prefix.

Key layout inside one store (keys always use `/`):

    snapshots/<id>/manifest.json       written last: a snapshot exists only once this key exists
    snapshots/<id>/manifest.sha256     `sha256sum -c` compatible digest of manifest.json
    snapshots/<id>/data/<table>.jsonl.gz
    attachments/INC-<n>/...            incident attachments (the tracker), never under snapshots/

A local store keeps unfinished snapshots under `<folder>/.staging/` and renames the finished folder into
`snapshots/` in one step; an S3 store uploads data files first and the manifest last.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any, Protocol, runtime_checkable

from repro.config import SnapshotSettings
from repro.errors import ConfigError, NotFoundError, SnapshotError

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client


def _s3_errors() -> tuple[type[Exception], ...]:
    """What boto3 raises for a failed call: HTTP errors, connection/credential problems, failed uploads.

    Imported on use: boto3 takes a tenth of a second to import, which local stores should not pay.
    """
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError, S3UploadFailedError)


STAGING_DIR = ".staging"


@runtime_checkable
class Store(Protocol):
    """Flat key -> bytes storage. LocalStore and S3Store implement it."""

    @property
    def location(self) -> str:
        """Where the store is, for people (`/path/to/folder` or `s3://bucket/prefix`)."""
        ...

    def put_bytes(self, key: str, data: bytes) -> None: ...

    def get_bytes(self, key: str) -> bytes:
        """The whole object; NotFoundError if absent."""
        ...

    def exists(self, key: str) -> bool: ...

    def list_keys(self, prefix: str) -> list[str]:
        """Sorted keys that start with `prefix` (a plain string prefix, not a glob)."""
        ...

    def delete_prefix(self, prefix: str) -> None:
        """Delete every key starting with `prefix` (which must not be empty)."""
        ...

    def put_file(self, key: str, path: Path) -> None:
        """Store a local file's content under `key`, streaming."""
        ...

    def open_read(self, key: str) -> IO[bytes]:
        """A binary stream of the object (the caller closes it); NotFoundError if absent."""
        ...

    def new_staging_dir(self) -> Path:
        """A fresh, empty local folder to assemble files in before `publish_dir`."""
        ...

    def publish_dir(self, staged: Path, prefix: str, last: str) -> None:
        """Move every file of `staged` under `prefix` (`prefix/relative/path`), with `last` appearing last.

        Readers that look for `prefix/last` see all other files already present. On success `staged` is gone.
        """
        ...

    def discard_staging(self, staged: Path) -> None:
        """Remove a staging folder that will not be published."""
        ...


def _check_key(key: str) -> str:
    if not key or key.startswith("/") or "\\" in key:
        raise SnapshotError(f"invalid store key {key!r}")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise SnapshotError(f"invalid store key {key!r}")
    return key


def _files_under(folder: Path) -> list[str]:
    """Relative `/`-separated paths of the regular files under a folder."""
    out = []
    for dirpath, _dirnames, filenames in os.walk(folder):
        for name in filenames:
            rel = Path(dirpath, name).relative_to(folder)
            out.append(rel.as_posix())
    return sorted(out)


class LocalStore:
    """A folder on disk; every single-key write is atomic (temporary file + rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def location(self) -> str:
        return str(self.root)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*_check_key(key).split("/"))

    def put_bytes(self, key: str, data: bytes) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            raise SnapshotError(f"cannot write {path}: {exc.strerror or exc}") from None

    def put_file(self, key: str, path: Path) -> None:
        dest = self._path(key)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=dest.parent)
            os.close(fd)
            shutil.copyfile(path, tmp)
            os.replace(tmp, dest)
        except OSError as exc:
            raise SnapshotError(f"cannot write {dest}: {exc.strerror or exc}") from None

    def get_bytes(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"{key} does not exist in {self.location}") from None
        except OSError as exc:
            raise SnapshotError(f"cannot read {path}: {exc.strerror or exc}") from None

    def open_read(self, key: str) -> IO[bytes]:
        path = self._path(key)
        try:
            return path.open("rb")
        except FileNotFoundError:
            raise NotFoundError(f"{key} does not exist in {self.location}") from None
        except OSError as exc:
            raise SnapshotError(f"cannot read {path}: {exc.strerror or exc}") from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list_keys(self, prefix: str) -> list[str]:
        folder, _, _ = prefix.rpartition("/")
        base = self._path(folder) if folder else self.root
        if not base.is_dir():
            return []
        keys = []
        for rel in _files_under(base):
            key = f"{folder}/{rel}" if folder else rel
            hidden = key.startswith(STAGING_DIR + "/") or PurePosixPath(key).name.startswith(".tmp-")
            if key.startswith(prefix) and not hidden:
                keys.append(key)
        return sorted(keys)

    def delete_prefix(self, prefix: str) -> None:
        if not prefix:
            raise SnapshotError("refusing to delete the whole store (empty prefix)")
        folder, _, _ = prefix.rpartition("/")
        for key in self.list_keys(prefix):
            self._path(key).unlink(missing_ok=True)
        # Remove the folders that became empty, bottom-up, never the store root itself.
        base = self._path(folder) if folder else self.root
        if base.is_dir():
            for dirpath, _dirs, _files in os.walk(base, topdown=False):
                rel = Path(dirpath).relative_to(self.root).as_posix()
                if (rel + "/").startswith(prefix) or rel.startswith(prefix):
                    with contextlib.suppress(OSError):  # not empty: keep it
                        Path(dirpath).rmdir()

    def new_staging_dir(self) -> Path:
        parent = self.root / STAGING_DIR
        try:
            parent.mkdir(parents=True, exist_ok=True)
            return Path(tempfile.mkdtemp(prefix=f"{uuid.uuid4().hex[:8]}-", dir=parent))
        except OSError as exc:
            raise SnapshotError(
                f"cannot create a staging folder in {parent}: {exc.strerror or exc}"
            ) from None

    def publish_dir(self, staged: Path, prefix: str, last: str) -> None:
        dest = self._path(prefix.rstrip("/"))
        if not (staged / last).is_file():
            raise SnapshotError(f"staging folder {staged} lacks {last}")
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            if dest.exists():
                raise SnapshotError(f"{dest} already exists")
            os.rename(staged, dest)  # one step: the folder appears complete or not at all
        except OSError as exc:
            raise SnapshotError(f"cannot publish {dest}: {exc.strerror or exc}") from None

    def discard_staging(self, staged: Path) -> None:
        shutil.rmtree(staged, ignore_errors=True)

    def stale_staging_dirs(self) -> list[Path]:
        """Leftovers of interrupted writes (for prune)."""
        parent = self.root / STAGING_DIR
        return sorted(p for p in parent.iterdir() if p.is_dir()) if parent.is_dir() else []


class S3Store:
    """An S3 bucket and key prefix, through boto3 (standard AWS environment for credentials)."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        sse: str | None = None,
        sse_kms_key_id: str | None = None,
        client: S3Client | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        if sse not in (None, "AES256", "aws:kms"):
            raise ConfigError(f"snapshots.sse: expected AES256 or aws:kms, got {sse!r}")
        if sse_kms_key_id and sse != "aws:kms":
            raise ConfigError("snapshots.sse_kms_key_id needs snapshots.sse: aws:kms")
        self.sse = sse
        self.sse_kms_key_id = sse_kms_key_id
        if client is None:
            import boto3

            client = boto3.session.Session().client("s3", endpoint_url=endpoint_url, region_name=region)
        self.client = client

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def _full(self, key: str) -> str:
        return self.prefix + _check_key(key)

    def _extra(self) -> dict[str, str]:
        extra: dict[str, str] = {}
        if self.sse:
            extra["ServerSideEncryption"] = self.sse
        if self.sse_kms_key_id:
            extra["SSEKMSKeyId"] = self.sse_kms_key_id
        return extra

    def _fail(self, action: str, key: str, exc: Exception) -> SnapshotError:
        return SnapshotError(f"S3 {action} s3://{self.bucket}/{key} failed: {_describe_s3_error(exc)}")

    def put_bytes(self, key: str, data: bytes) -> None:
        full = self._full(key)
        try:
            self.client.put_object(Bucket=self.bucket, Key=full, Body=data, **self._extra())  # type: ignore[arg-type]
        except _s3_errors() as exc:
            raise self._fail("write to", full, exc) from None

    def put_file(self, key: str, path: Path) -> None:
        full = self._full(key)
        try:
            self.client.upload_file(str(path), self.bucket, full, ExtraArgs=self._extra() or None)
        except _s3_errors() as exc:
            raise self._fail("upload to", full, exc) from None

    def get_bytes(self, key: str) -> bytes:
        with self.open_read(key) as body:
            try:
                return body.read()
            except _s3_errors() as exc:
                raise self._fail("read of", self._full(key), exc) from None

    def open_read(self, key: str) -> IO[bytes]:
        full = self._full(key)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=full)
        except _s3_errors() as exc:
            if _is_not_found(exc):
                raise NotFoundError(f"{key} does not exist in {self.location}") from None
            raise self._fail("read of", full, exc) from None
        body: Any = response["Body"]
        return body  # type: ignore[no-any-return]

    def exists(self, key: str) -> bool:
        full = self._full(key)
        try:
            self.client.head_object(Bucket=self.bucket, Key=full)
        except _s3_errors() as exc:
            if _is_not_found(exc):
                return False
            raise self._fail("lookup of", full, exc) from None
        return True

    def list_keys(self, prefix: str) -> list[str]:
        full = self.prefix + prefix
        keys: list[str] = []
        try:
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                keys.extend(obj["Key"][len(self.prefix) :] for obj in page.get("Contents", []))
        except _s3_errors() as exc:
            raise self._fail("listing of", full, exc) from None
        return sorted(keys)

    def delete_prefix(self, prefix: str) -> None:
        if not prefix:
            raise SnapshotError("refusing to delete the whole store (empty prefix)")
        keys = self.list_keys(prefix)
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            try:
                response = self.client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": self.prefix + k} for k in chunk], "Quiet": True},
                )
            except _s3_errors() as exc:
                raise self._fail("delete under", self.prefix + prefix, exc) from None
            errors = response.get("Errors", [])
            if errors:
                first = errors[0]
                raise SnapshotError(
                    f"S3 delete of s3://{self.bucket}/{first.get('Key')} failed: {first.get('Message', '')}"
                )

    def new_staging_dir(self) -> Path:
        return Path(tempfile.mkdtemp(prefix="repro-snapshot-"))

    def publish_dir(self, staged: Path, prefix: str, last: str) -> None:
        names = _files_under(staged)
        if last not in names:
            raise SnapshotError(f"staging folder {staged} lacks {last}")
        base = prefix.rstrip("/")
        for name in [n for n in names if n != last] + [last]:
            self.put_file(f"{base}/{name}", staged / name)
        shutil.rmtree(staged, ignore_errors=True)

    def discard_staging(self, staged: Path) -> None:
        shutil.rmtree(staged, ignore_errors=True)


def _is_not_found(exc: Exception) -> bool:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    code = str(response.get("Error", {}).get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code == "NoSuchBucket":
        return False
    return code in ("NoSuchKey", "404", "NotFound") or status == 404


def _describe_s3_error(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        err = response["Error"]
        return f"{err.get('Code', '')}: {err.get('Message', '')}".strip(": ")
    first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    return first.strip()


def parse_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` -> ("bucket", "some/prefix")."""
    rest = url[len("s3://") :]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise ConfigError(f"snapshots.store: expected s3://bucket/prefix, got {url!r}")
    return bucket, prefix.strip("/")


def open_store(settings: SnapshotSettings) -> Store:
    """The store `settings.store` names: a folder path, or s3://bucket/prefix."""
    location = settings.store
    if location.startswith("s3://"):
        bucket, prefix = parse_s3_url(location)
        return S3Store(
            bucket,
            prefix,
            endpoint_url=settings.endpoint_url,
            region=settings.region,
            sse=settings.sse,
            sse_kms_key_id=settings.sse_kms_key_id,
        )
    if "://" in location:
        raise ConfigError(f"snapshots.store: expected a folder or s3://bucket/prefix, got {location!r}")
    return LocalStore(Path(location).expanduser())
