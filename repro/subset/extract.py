"""Which rows the plan reaches: batched key lookups inside the source's read-only transaction.

`collect_subset` walks the edges in rounds, keeping one key per row (see `repro.subset.rows.TableRows`) and
the references of the rows a round found until the next round follows them; with a sink, whole rows are handed
on as they are found. The tables held back are read afterwards with `repro.subset.rows.iter_rows`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from repro.errors import ConfigError, NotFoundError, RowLimitError
from repro.schema import ForeignKey, SchemaGraph
from repro.subset.fetch import StatementCache, count_matches, fetch_chunks
from repro.subset.plan import Edge, SubsetPlan
from repro.subset.rows import Subset, sorted_keys, streamed_tables, table_rows, tuple_of, without_null


def coerce_root_value(graph: SchemaGraph, table: str, column: str, value: Any) -> Any:
    """Command-line ids are strings: convert to the column's Python type, with a clear error."""
    coltype = graph.table(table).table.c[column].type
    try:
        python_type = coltype.python_type
    except NotImplementedError:
        return value
    if python_type is int and not isinstance(value, int):
        try:
            return int(str(value).strip())
        except ValueError:
            raise ConfigError(f"{table}.{column} is an integer column: {value!r} is not an integer") from None
    return value


RowSink = Callable[[str, tuple[str, ...], list[tuple[Any, ...]]], None]
Pending = dict[tuple[str, ForeignKey], set[Any]]  # (table, fk) -> referenced values its new rows hold


class _Collector:
    """The walk, in rounds: the rows a round adds note what the next round follows from them (the values of
    their references, their keys where child edges leave their table), so nothing else is kept per row."""

    def __init__(
        self,
        conn: Connection,
        graph: SchemaGraph,
        plan: SubsetPlan,
        max_rows: int,
        progress: Callable[[str], None] | None,
        sink: RowSink | None = None,
        batch_size: int = 2000,
    ) -> None:
        self.conn, self.graph, self.plan, self.max_rows = conn, graph, plan, max_rows
        self.progress = progress
        self.tables = {t: table_rows(graph, plan, t) for t in plan.tables}
        self.edge_rows: dict[tuple[str, str], int] = {}
        self.sink = sink
        self.batch_size = batch_size
        self.streamed = streamed_tables(graph, plan) if sink is not None else set()
        self.statements: StatementCache = {}
        self.total = 0
        # Filled while a round adds rows, followed in the next round.
        self.parents: Pending = {}
        self.reached: dict[str, set[Any]] = {}  # keys newly reached downward, of tables with child edges
        self.new_parent_only: dict[str, set[Any]] = {}  # new keys of tables with forced child edges
        self.has_children = {t for t in plan.tables if plan.child_edges_from(t)}
        self.has_forced = {t for t in plan.tables if plan.child_edges_from(t, forced_only=True)}
        self.down_counts = _down_counters(plan)

    def add(
        self,
        table: str,
        chunks: Iterable[list[tuple[Any, ...]]],
        *,
        down: bool,
        via: str,
        columns: tuple[str, ...],
        found_by: ForeignKey | None = None,
        emit: bool = False,
    ) -> list[Any]:
        """Add rows (lists of tuples holding `columns`, as `fetch_chunks` yields them); returns the keys new
        to the subset.

        The references of the new rows (their parent edges' values) are noted for the next round, except
        through `found_by`, the foreign key of the child edge that found them (it points back at rows already
        taken). With `emit`, rows hold every column and the new ones go to the sink.
        """
        tr = self.tables[table]
        known = tr.keys
        key_of = tr.key_function(columns)
        notes = [
            (self.parents.setdefault((table, e.fk), set()), tuple_of(columns, e.fk.columns, bare=True))
            for e in self.plan.parent_edges_from(table)
            if e.fk != found_by
        ]
        reached = self.reached.setdefault(table, set()) if down and table in self.has_children else None
        forced = self.new_parent_only.setdefault(table, set()) if table in self.has_forced else None
        to_tracked = tuple_of(columns, tr.tracked) if tr.keep_values else None
        counted = [
            (counter, tuple_of(columns, fk.columns, bare=True))
            for fk, counter in self.down_counts.get(table, ())
            if down and set(fk.columns) <= set(columns)
        ]
        new: list[Any] = []
        step = self.batch_size
        for chunk in chunks:
            for start in range(0, len(chunk), step):
                part = chunk[start : start + step]
                keys = list(map(key_of, part))
                distinct = set(keys)
                if len(distinct) == len(keys) and known.isdisjoint(distinct):
                    known |= distinct  # the usual case: all new, no repeats (no per-row Python)
                    new_keys, new_rows = keys, part
                else:
                    new_keys, new_rows = [], []
                    for key, row in zip(keys, part, strict=True):
                        if key not in known:
                            known.add(key)
                            new_keys.append(key)
                            new_rows.append(row)
                new += new_keys
                if not down and new_keys and tr.down is None:
                    tr.down = known - set(new_keys)  # from now on not every row is reached downward
                if down:
                    if tr.down is None:  # every row reached downward: the new ones are the newly reached
                        newly: Iterable[Any] = new_keys
                    else:
                        newly = distinct - tr.down
                        tr.down |= newly
                    if reached is not None:
                        reached.update(newly)
                if forced is not None:
                    forced.update(new_keys)
                if not new_rows:
                    continue
                for target, values_of in notes:
                    target.update(map(values_of, new_rows))
                for counter, values_of in counted:
                    counter.update(map(values_of, new_rows))
                if to_tracked is not None:
                    tr.values.update(zip(new_keys, map(to_tracked, new_rows), strict=True))
                if emit:
                    self._emit(table, columns, new_rows)
        if new:
            edge = (via, "child" if down else "parent")
            self.edge_rows[edge] = self.edge_rows.get(edge, 0) + len(new)
            self.total += len(new)
            if self.total > self.max_rows:
                raise RowLimitError(
                    f"the subset exceeds subset.max_rows ({self.max_rows}) while following {via}:"
                    f" it brought in {self.edge_rows[edge]} rows of {table}; add it to subset.skip or raise max_rows"
                )
        return new

    def follow(self, edge: Edge, values: set[Any]) -> None:
        """Add the rows of the edge's target table whose `dst_cols` hold one of `values` (bare for one
        column)."""
        fk = edge.fk
        dst = self.tables[edge.target_table]
        down = edge.direction == "child"
        dst_cols = fk.columns if down else fk.ref_columns
        info = self.graph.table(dst.table)
        if not down and tuple(dst_cols) == dst.pk:
            values = values - dst.keys  # parents already collected need no query
        elif down and dst.keys:
            values = self._not_all_known(info.table, fk, values)
        if not values:
            return
        bare = len(dst_cols) == 1
        keys_in = sorted_keys(values)
        columns = tuple(info.columns)
        found_by = fk if down else None
        if dst.table not in self.streamed or (down and dst.keys and dst.pk):
            # Keys only: for tables read later, or whose rows were collected already (most may be known,
            # so whole rows are read for the new ones only).
            rows = fetch_chunks(
                self.conn, info.table, dst.tracked, dst_cols, keys_in, cache=self.statements, bare=bare
            )
            new = self.add(dst.table, rows, down=down, via=fk.label, columns=dst.tracked, found_by=found_by)
            if dst.table in self.streamed and new:
                full = fetch_chunks(
                    self.conn,
                    info.table,
                    columns,
                    dst.pk,
                    sorted_keys(new),
                    cache=self.statements,
                    bare=dst.bare,
                    rows_per_part=self.batch_size,
                )
                for rows_part in full:
                    self._emit(dst.table, columns, rows_part)
        else:
            # Whole rows, read a batch at a time.
            rows = fetch_chunks(
                self.conn,
                info.table,
                columns,
                dst_cols,
                keys_in,
                cache=self.statements,
                bare=bare,
                rows_per_part=self.batch_size,
            )
            self.add(dst.table, rows, down=down, via=fk.label, columns=columns, found_by=found_by, emit=True)
        if self.progress is not None:
            self.progress(dst.table)

    def _not_all_known(self, table: sa.Table, fk: ForeignKey, values: set[Any]) -> set[Any]:
        """`values` of a child edge without those whose rows are all in the subset already, reached downward.

        A user's orders found through the user and again through the user's addresses: the rows of such a
        value are counted in the source (from the index alone where it can), and when there are as many as
        were taken through this foreign key, reading them again would add nothing."""
        counter = next((c for f, c in self.down_counts.get(fk.table, ()) if f == fk), None)
        taken = {v: n for v in values if (n := counter.get(v))} if counter else {}
        if not taken:
            return values
        in_source = count_matches(self.conn, table, fk.columns[0], sorted_keys(taken))
        return {v for v in values if v not in taken or in_source.get(v) != taken[v]}

    def _emit(self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        assert self.sink is not None
        for start in range(0, len(rows), self.batch_size):
            self.sink(table, columns, rows[start : start + self.batch_size])

    def run(self, root_value: Any) -> Subset:
        plan = self.plan
        root = self.tables[plan.root_table]
        info = self.graph.table(plan.root_table)
        emit = plan.root_table in self.streamed
        columns = tuple(info.columns) if emit else root.tracked
        rows = [
            r
            for chunk in fetch_chunks(
                self.conn, info.table, columns, [plan.root_key], [root_value], bare=True
            )
            for r in chunk
        ]
        if not rows:
            raise NotFoundError(f"no row in {plan.root_table} with {plan.root_key} = {root_value!r}")
        self.add(
            plan.root_table,
            [rows],
            down=True,
            via=f"{plan.root_table}.{plan.root_key}",
            columns=columns,
            emit=emit,
        )
        while True:
            # What the last round noted (entries left empty by rows that were known already do not count).
            reached = {t: keys for t, keys in self.reached.items() if keys}
            new_keys = {t: keys for t, keys in self.new_parent_only.items() if keys}
            parents = {edge: values for edge, values in self.parents.items() if values}
            if not (reached or new_keys or parents):
                break
            self.reached, self.new_parent_only, self.parents = {}, {}, {}
            steps: list[tuple[Edge, set[Any]]] = []
            for tname, keys in sorted(reached.items()):
                src = self.tables[tname]
                steps += [
                    (e, src.column_values(keys, e.fk.ref_columns)) for e in plan.child_edges_from(tname)
                ]
            for tname in sorted(set(new_keys) | {t for t, _ in parents}):
                src = self.tables[tname]
                if tname in new_keys:
                    parent_only = new_keys[tname] - src.down if src.down is not None else set()
                    for edge in plan.child_edges_from(tname, forced_only=True):
                        steps.append((edge, src.column_values(parent_only, edge.fk.ref_columns)))
                for edge in plan.parent_edges_from(tname):
                    values = parents.pop((tname, edge.fk), None)
                    if values:
                        steps.append((edge, without_null(values, len(edge.fk.columns))))
            for edge, values in steps:
                self.follow(edge, values)
        return Subset(plan.root_table, root_value, self.tables, self.edge_rows)


def _down_counters(plan: SubsetPlan) -> dict[str, list[tuple[ForeignKey, Counter[Any]]]]:
    """Per table, a counter of the rows taken downward per value of each one-column foreign key of a child
    edge into it, for tables that more than one edge leads into (only there can a lookup find rows already
    taken; see `_Collector._not_all_known`)."""
    into: dict[str, list[Edge]] = {}
    for edge in plan.edges:
        into.setdefault(edge.target_table, []).append(edge)
    return {
        table: [(e.fk, Counter()) for e in edges if e.direction == "child" and len(e.fk.columns) == 1]
        for table, edges in into.items()
        if len(edges) > 1
    }


def collect_subset(
    conn: Connection,
    graph: SchemaGraph,
    plan: SubsetPlan,
    root_value: Any,
    *,
    max_rows: int,
    progress: Callable[[str], None] | None = None,
    sink: RowSink | None = None,
    batch_size: int = 2000,
) -> Subset:
    """Walk the plan's edges from the root row and return every collected row's keys.

    With a `sink`, the whole rows of the `streamed_tables` are read during the walk and handed to it as
    they are first found (in batches of at most `batch_size`), so they need no second read; the other
    tables' rows are read afterwards with `iter_rows`.
    """
    return _Collector(conn, graph, plan, max_rows, progress, sink, batch_size).run(root_value)
