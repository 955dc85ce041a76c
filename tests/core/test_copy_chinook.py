"""copy-user on Chinook, a schema nobody here designed: customer 5 and exactly what it needs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from dbtools import chinook_rules, expected_closure, leaked_values, table_keys

from repro.config import Settings, SnapshotSettings, TrackerSettings
from repro.copy import copy_user


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def names(dialect: str) -> dict[str, str]:
    """Chinook's Postgres script spells identifiers in snake_case, the others in PascalCase."""
    words = [
        "Customer",
        "CustomerId",
        "Invoice",
        "InvoiceId",
        "InvoiceLine",
        "Track",
        "TrackId",
        "Album",
        "AlbumId",
        "Artist",
        "ArtistId",
        "Genre",
        "GenreId",
        "MediaType",
        "MediaTypeId",
        "Employee",
        "EmployeeId",
        "ReportsTo",
        "SupportRepId",
        "Playlist",
        "PlaylistTrack",
    ]
    return {w: snake(w) if dialect == "postgresql" else w for w in words}


def settings(dialect: str, source: str, target: str, tmp_path: Path) -> Settings:
    n = names(dialect)
    return Settings(
        source_url=source,
        target_url=target,
        root_table=n["Customer"],
        root_key=n["CustomerId"],
        rules_dir=chinook_rules(dialect),
        snapshots=SnapshotSettings(store=str(tmp_path / "snaps")),
        tracker=TrackerSettings(url=f"sqlite:///{tmp_path / 't.db'}"),
    )


def ids(url: str, sql: str) -> set[tuple[Any, ...]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        result = {tuple(r) for r in conn.exec_driver_sql(sql)}
    engine.dispose()
    return result


def test_copy_customer_5(
    dialect: str, chinook_url: str, new_database: Any, tmp_path: Path, mask_salt: str
) -> None:
    n = names(dialect)
    q = sa.create_engine(chinook_url).dialect.identifier_preparer.quote
    target = new_database(dialect, "stg")
    result = copy_user(settings(dialect, chinook_url, target, tmp_path), "5", create_schema=True)
    got = table_keys(target)
    inv, il, tr, al = q(n["Invoice"]), q(n["InvoiceLine"]), q(n["Track"]), q(n["Album"])
    invoices = ids(chinook_url, f"SELECT {q(n['InvoiceId'])} FROM {inv} WHERE {q(n['CustomerId'])} = 5")
    lines = ids(
        chinook_url,
        f"SELECT {q(n['InvoiceLine'] + ('_id' if dialect == 'postgresql' else 'Id'))} FROM {il}"
        f" WHERE {q(n['InvoiceId'])} IN (SELECT {q(n['InvoiceId'])} FROM {inv} WHERE {q(n['CustomerId'])} = 5)",
    )
    tracks = ids(
        chinook_url,
        f"SELECT DISTINCT {q(n['TrackId'])} FROM {il} WHERE {q(n['InvoiceId'])} IN "
        f"(SELECT {q(n['InvoiceId'])} FROM {inv} WHERE {q(n['CustomerId'])} = 5)",
    )
    track_in = ",".join(str(t[0]) for t in tracks)
    albums = ids(
        chinook_url, f"SELECT DISTINCT {q(n['AlbumId'])} FROM {tr} WHERE {q(n['TrackId'])} IN ({track_in})"
    )
    album_in = ",".join(str(a[0]) for a in albums)
    artists = ids(
        chinook_url, f"SELECT DISTINCT {q(n['ArtistId'])} FROM {al} WHERE {q(n['AlbumId'])} IN ({album_in})"
    )
    genres = ids(
        chinook_url, f"SELECT DISTINCT {q(n['GenreId'])} FROM {tr} WHERE {q(n['TrackId'])} IN ({track_in})"
    )
    media = ids(
        chinook_url,
        f"SELECT DISTINCT {q(n['MediaTypeId'])} FROM {tr} WHERE {q(n['TrackId'])} IN ({track_in})",
    )

    assert got[n["Customer"]] == {(5,)}  # no other customer
    assert got[n["Invoice"]] == invoices and len(invoices) == 7
    assert got[n["InvoiceLine"]] == lines and len(lines) == 38
    assert got[n["Track"]] == tracks
    assert got[n["Album"]] == albums
    assert got[n["Artist"]] == artists
    assert got[n["Genre"]] == genres
    assert got[n["MediaType"]] == media
    assert got[n["Employee"]] == {(4,), (2,), (1,)}  # support rep 4, who reports to 2, who reports to 1
    assert n["Playlist"] not in got and n["PlaylistTrack"] not in got
    assert got == expected_closure(chinook_url, n["Customer"], n["CustomerId"], 5)
    assert sum(result.rows.values()) == sum(len(v) for v in got.values())


def test_chinook_copy_masks_personal_data(
    dialect: str, chinook_url: str, new_database: Any, tmp_path: Path, mask_salt: str
) -> None:
    target = new_database(dialect, "stg")
    copy_user(settings(dialect, chinook_url, target, tmp_path), 5, create_schema=True)
    assert (
        leaked_values(chinook_url, target, settings(dialect, chinook_url, target, tmp_path).rules_dir) == []
    )
