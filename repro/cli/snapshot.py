"""`repro snapshot ...`: list, show, verify, restore, delete and prune reproduction snapshots."""

from __future__ import annotations

import click

from repro.cli.options import AppContext, output_options, pass_app, print_json, print_table, target_option
from repro.snapshots.catalog import delete_snapshot, list_snapshots, parse_age, prune_snapshots
from repro.snapshots.manifest import format_time
from repro.snapshots.restore import open_snapshot, restore_snapshot
from repro.snapshots.store import Store, open_store


def _store(app: AppContext) -> Store:
    return open_store(app.settings().snapshots)


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


@click.group()
def snapshot() -> None:
    """Reproduction snapshots: the masked rows of each copy, kept as checksummed files (local folder or S3).

    \b
    Example:
      repro snapshot list --incident INC-7
    """


@snapshot.command("list")
@click.option("--incident", metavar="INC-N", help="Only snapshots recorded for this incident.")
@output_options
@pass_app
def list_command(app: AppContext, incident: str | None, as_json: bool) -> None:
    """List complete snapshots in the store, oldest first.

    \b
    Example:
      repro snapshot list --incident INC-7 --json
    """
    store = _store(app)
    summaries = list_snapshots(store, incident=incident)
    if as_json:
        print_json([s.to_dict() for s in summaries])
        return
    if not summaries:
        click.echo(f"no snapshots in {store.location}" + (f" for {incident}" if incident else ""))
        return
    rows = [
        [
            s.id,
            format_time(s.created_at) if s.created_at else "",
            s.root if s.problem is None else "(unreadable manifest)",
            s.incident or "",
            s.rows,
            _size(s.bytes),
        ]
        for s in summaries
    ]
    print_table(["id", "created", "root", "incident", "rows", "size"], rows)


@snapshot.command("show")
@click.argument("snapshot_id", metavar="ID")
@output_options
@pass_app
def show(app: AppContext, snapshot_id: str, as_json: bool) -> None:
    """Show a snapshot's manifest: root, incident, tables, row counts, checksums.

    \b
    Example:
      repro snapshot show 20261127T141203Z-users-42-3f9a1c
    """
    m = open_snapshot(_store(app), snapshot_id).manifest
    if as_json:
        print_json(m.to_dict())
        return
    click.echo(f"snapshot   {m.id}")
    click.echo(f"created    {format_time(m.created_at)} by {m.created_by} (repro {m.tool_version})")
    click.echo(f"root       {m.root_table}.{m.root_key} = {m.root_value}")
    click.echo(f"incident   {m.incident or '-'}")
    click.echo(f"source     {m.source_dialect}, schema {m.schema_fingerprint[:12]}")
    click.echo(f"masking    rules {m.rules_hash[:12]}, salt {m.salt_fingerprint[:12]}")
    print_table(
        ["table", "columns", "rows", "size", "sha256"],
        [[t.name, len(t.columns), t.rows, _size(t.bytes), t.sha256[:12]] for t in m.tables],
    )
    click.echo(f"total: {m.total_rows} rows in {len(m.tables)} tables")


@snapshot.command("verify")
@click.argument("snapshot_id", metavar="ID")
@output_options
@pass_app
def verify(app: AppContext, snapshot_id: str, as_json: bool) -> None:
    """Check the manifest and every data file against their sha256 (fails on any changed or missing file).

    \b
    Example:
      repro snapshot verify 20261127T141203Z-users-42-3f9a1c
    """
    reader = open_snapshot(_store(app), snapshot_id)
    reader.verify()
    files = len(reader.manifest.tables) + 2
    if as_json:
        print_json({"snapshot": snapshot_id, "ok": True, "files": files})
    else:
        click.echo(f"snapshot {snapshot_id}: {files} files verified, all checksums match")


@snapshot.command("restore")
@click.argument("snapshot_id", metavar="ID")
@target_option
@click.option("--create-schema", is_flag=True, help="Create the snapshot's tables the target lacks.")
@output_options
@pass_app
def restore(
    app: AppContext, snapshot_id: str, target_url: str | None, create_schema: bool, as_json: bool
) -> None:
    """Verify a snapshot and load its rows onto staging in one transaction (restoring twice changes nothing).

    \b
    Example:
      repro snapshot restore 20261127T141203Z-users-42-3f9a1c --target postgresql://app@staging/app
    """
    settings = app.settings(target_url=target_url)
    result = restore_snapshot(settings, snapshot_id, settings.require_target(), create_schema=create_schema)
    if as_json:
        print_json(result.to_dict())
        return
    if result.created_tables:
        click.echo(f"created tables: {', '.join(result.created_tables)}")
    print_table(["table", "rows"], [[t, n] for t, n in result.rows.items()])
    click.echo(f"restored {result.total_rows} rows from {snapshot_id} into {result.target}")


@snapshot.command("delete")
@click.argument("snapshot_id", metavar="ID")
@output_options
@pass_app
def delete(app: AppContext, snapshot_id: str, as_json: bool) -> None:
    """Delete a snapshot and all its files.

    \b
    Example:
      repro snapshot delete 20261127T141203Z-users-42-3f9a1c
    """
    delete_snapshot(_store(app), snapshot_id)
    if as_json:
        print_json({"deleted": snapshot_id})
    else:
        click.echo(f"deleted snapshot {snapshot_id}")


@snapshot.command("prune")
@click.option("--older-than", "older_than", required=True, metavar="AGE", help="Age such as 36h, 30d or 2w.")
@click.option("--dry-run", is_flag=True, help="Only show what would be deleted.")
@output_options
@pass_app
def prune(app: AppContext, older_than: str, dry_run: bool, as_json: bool) -> None:
    """Delete snapshots older than AGE, and leftovers of interrupted writes as old.

    \b
    Example:
      repro snapshot prune --older-than 30d --dry-run
    """
    age = parse_age(older_than)
    result = prune_snapshots(_store(app), age, dry_run=dry_run)
    if as_json:
        print_json(result.to_dict())
        return
    verb = "would delete" if dry_run else "deleted"
    for sid in result.deleted:
        click.echo(f"{verb} {sid}")
    for sid in result.leftovers:
        click.echo(f"{verb} {sid} (incomplete)")
    cutoff = format_time(result.cutoff)
    click.echo(f"{verb} {len(result.deleted)} snapshot(s) created before {cutoff}; kept {result.kept}")
