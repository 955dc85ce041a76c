"""Attachments: classify, size-check, sanitize HAR files (always), store the bytes, record the file."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from repro.config import Settings
from repro.errors import ReproError, TrackerError, UsageError
from repro.tracker.models import Attachment, Incident
from repro.tracker.records import add_event
from repro.tracker.views import AttachmentView, attachment_view

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".heic", ".tif", ".tiff"})
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".webm", ".mkv", ".avi", ".m4v"})
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_MB = 1024 * 1024
_HEAD = 4096  # bytes read to tell a JSON document (a HAR under any name) from media


@dataclass(frozen=True)
class PreparedAttachment:
    """An attachment ready to store: HAR files already sanitized, never their original bytes."""

    filename: str
    kind: str
    data: bytes
    sha256: str


def classify(path: Path, head: bytes) -> str:
    """har, image, video or other. The content decides first: JSON with a top-level `log` key is a HAR whatever
    the file is called (`.png`, `.json`, a BOM in front), and so is JSON that does not parse but mentions
    `"log"` (a truncated HAR): the sanitizer then refuses it rather than letting it through raw."""
    suffix = path.suffix.lower()
    if suffix == ".har" or _is_har_json(path, head):
        return "har"
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    return "other"


_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def _json_text(data: bytes) -> str:
    """The text of what may be a JSON document (UTF-8 or UTF-16, BOM allowed; bad bytes replaced)."""
    for bom, encoding in zip(_BOMS, ("utf-8-sig", "utf-16", "utf-16"), strict=True):
        if data.startswith(bom):
            return data.decode(encoding, "replace")
    return data.decode("utf-8", "replace")


def _is_har_json(path: Path, head: bytes) -> bool:
    if _json_text(head).lstrip()[:1] != "{":
        return False
    try:
        text = _json_text(path.read_bytes())
    except OSError:
        return True  # cannot look inside: treat it as a HAR, whose sanitizing then fails closed
    try:
        data = json.loads(text)
    except ValueError:
        return '"log"' in text
    return isinstance(data, dict) and "log" in data


def _limit_mb(settings: Settings, kind: str) -> float:
    limits = settings.attachments
    return {"image": limits.max_image_mb, "video": limits.max_video_mb}.get(kind, limits.max_other_mb)


def _size_text(size: int) -> str:
    return f"{size / _MB:.1f} MB" if size >= _MB else f"{size / 1024:.0f} KB"


def prepare_attachment(settings: Settings, path: Path) -> PreparedAttachment:
    """Read, classify and check a file; HAR files are sanitized here and the attach fails closed otherwise."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"attachment {path}: no such file")
    try:
        with path.open("rb") as fh:
            head = fh.read(_HEAD)
        size = path.stat().st_size
    except OSError as exc:
        raise TrackerError(f"attachment {path}: cannot read: {exc.strerror or exc}") from None
    kind = classify(path, head)
    limit = _limit_mb(settings, kind)
    if size > limit * _MB:
        raise TrackerError(
            f"attachment {path.name}: {_size_text(size)} is over the {kind} limit of {limit:g} MB"
            f" (attachments.max_{'other' if kind in ('har', 'other') else kind}_mb)"
        )
    data = path.read_bytes()
    if kind == "har":
        data = _sanitize_har(settings, path, data)
    return PreparedAttachment(path.name, kind, data, hashlib.sha256(data).hexdigest())


def _sanitize_har(settings: Settings, path: Path, data: bytes) -> bytes:
    try:
        from repro.har import sanitize_har_bytes
    except ImportError as exc:
        raise TrackerError(
            f"attachment {path.name}: HAR files cannot be sanitized here ({exc}); not stored"
        ) from None
    try:
        sanitized, _report = sanitize_har_bytes(data, settings)
    except ReproError as exc:
        raise TrackerError(f"attachment {path.name}: HAR sanitizing failed, not stored: {exc}") from None
    except Exception as exc:
        # Fail closed: whatever went wrong inside the sanitizer, the raw file is never stored.
        raise TrackerError(
            f"attachment {path.name}: HAR sanitizing failed, not stored: {type(exc).__name__}: {exc}"
        ) from None
    if not isinstance(sanitized, bytes | bytearray):
        raise TrackerError(f"attachment {path.name}: the HAR sanitizer returned no bytes; not stored")
    return bytes(sanitized)


def attachment_key(incident_id: str, prepared: PreparedAttachment) -> str:
    safe = _UNSAFE_NAME.sub("_", prepared.filename).strip("._") or "file"
    return f"attachments/{incident_id}/{prepared.sha256[:12]}-{safe}"


def store_attachment(
    settings: Settings,
    session: Session,
    incident: Incident,
    prepared: PreparedAttachment,
    *,
    by: str,
    at: datetime,
) -> AttachmentView:
    """Put the bytes into the snapshot store and record them; attaching the same file twice is a no-op."""
    from repro.snapshots.store import open_store

    key = attachment_key(incident.id, prepared)
    for existing in incident.attachments:
        if existing.key == key:
            return attachment_view(incident, existing)
    store = open_store(settings.snapshots)
    store.put_bytes(key, prepared.data)
    record = Attachment(
        key=key,
        sha256=prepared.sha256,
        size=len(prepared.data),
        kind=prepared.kind,
        filename=prepared.filename,
        added_at=at,
        added_by=by,
    )
    incident.attachments.append(record)
    note = " (sanitized)" if prepared.kind == "har" else ""
    add_event(
        incident,
        "attachment",
        f"attached {prepared.kind} {prepared.filename}{note}",
        by=by,
        at=at,
        changes={"attachment": [None, key]},
    )
    return attachment_view(incident, record)
