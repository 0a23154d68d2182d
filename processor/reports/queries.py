"""The report queries: counts grouped and ranked in SQL over the index, never over JSON.

Each report kind says which columns identify a row (a signature; a module with its ids and
reason) and which rows it counts (crashes; crashes missing a module's symbols). One ranked,
grouped query serves the plain reports and both sides of a comparison; ``--module`` narrows the
crashes to those with the module on the crashing stack (an indexed join), ``--since``/``--until``
to a range of days (indexed, inclusive). Without ``--module`` the rows are summed from the day
counts (counts.py: a few rows per key and day) rather than counted one by one.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from processor.reports.counts import TOTAL_FIELD
from processor.reports.index import ReportIndex, day
from processor.reports.model import COUNT, PERCENT, RANK, Column, Report

DEFAULT_TOP = 50


@dataclass(frozen=True)
class Period:
    """Days ``since``..``until``, inclusive; None is an open end."""

    since: datetime.date | None = None
    until: datetime.date | None = None

    def describe(self) -> str:
        if self.since is None:
            return "all dates" if self.until is None else f"until {self.until}"
        return f"since {self.since}" if self.until is None else f"{self.since}..{self.until}"


@dataclass(frozen=True)
class Kind:
    """One kind of report: what identifies a row and which rows are counted."""

    name: str
    title: str
    keys: tuple[Column, ...]
    table: str  # the rows counted (each is one crash for one key)
    label_keys: tuple[str, ...]  # what names a bar in the chart
    # The same rows counted per day and key (a ``crashes`` column): table, condition on it.
    counted: tuple[str, str]

    def source(self, module: str | None) -> tuple[str, str]:
        """(FROM clause, alias of the dated table) counting this kind's rows."""
        if module is None:
            return f"{self.counted[0]} AS t", "t"
        if self.table != "crashes":
            raise ValueError(f"--module applies to the signatures report, not {self.name}")
        # Only crashes whose crashing stack holds the module (crash_modules is one row each).
        return "crash_modules AS m JOIN crashes AS t ON t.id = m.crash", "m"


SIGNATURES = Kind(
    name="signatures",
    title="Signatures",
    keys=(Column("signature", "signature"),),
    table="crashes",
    label_keys=("signature",),
    counted=("day_counts", "t.field = 'signature'"),
)
MISSING_SYMBOLS = Kind(
    name="missing-symbols",
    title="Modules missing symbols",
    keys=(
        Column("module", "module"),
        Column("version", "version"),
        Column("debug_file", "debug file"),
        Column("debug_id", "debug id"),
        Column("code_id", "code id"),
        Column("reason", "reason"),
    ),
    table="missing_symbols",
    label_keys=("module", "version", "reason"),
    counted=("missing_symbol_day_counts", "TRUE"),
)
KINDS = {kind.name: kind for kind in (SIGNATURES, MISSING_SYMBOLS)}
# Index column behind each key column (the report says "module", the table "filename"), in
# the rows and in their day counts.
SOURCE_COLUMNS = {"module": "filename"}
COUNTED_COLUMNS = {"signature": "value", "module": "filename"}


def _where(
    index: ReportIndex, alias: str, period: Period, module: str | None, prefix: str
) -> tuple[str, dict]:
    """The WHERE clause (and its named parameters) for one period and module filter."""
    clauses, params = ["TRUE"], {}
    if period.since is not None:
        clauses.append(f"{alias}.date >= :{prefix}since")
        params[f"{prefix}since"] = day(period.since)
    if period.until is not None:
        clauses.append(f"{alias}.date <= :{prefix}until")
        params[f"{prefix}until"] = day(period.until)
    if module is not None:
        clauses.append(index.module_equals("m.module", f":{prefix}module"))
        params[f"{prefix}module"] = module
    return " AND ".join(clauses), params


def ranked(
    index: ReportIndex, kind: Kind, period: Period, module: str | None, prefix: str = ""
) -> tuple[str, dict]:
    """SQL of every group with its count and rank (1 = most crashes; ties by key).

    Key columns come out never NULL ('' stands for unknown) so comparisons join with ``=``,
    which lets the database index the join; rows turn '' back into None.
    """
    source, alias = kind.source(module)
    where, params = _where(index, alias, period, module, prefix)
    if module is None:  # summed from the day counts; '' already stands for unknown there
        where += f" AND {kind.counted[1]}"
        expressions = [f"t.{COUNTED_COLUMNS.get(c.key, c.key)}" for c in kind.keys]
        count, having = "CAST(SUM(t.crashes) AS BIGINT)", " HAVING SUM(t.crashes) > 0"
    else:
        expressions = [f"COALESCE(t.{SOURCE_COLUMNS.get(c.key, c.key)}, '')" for c in kind.keys]
        count, having = "COUNT(*)", ""
    keys = ", ".join(f"{e} AS {c.key}" for e, c in zip(expressions, kind.keys, strict=True))
    group = ", ".join(expressions)
    sql = (
        f"SELECT {keys}, {count} AS crashes, "
        f"ROW_NUMBER() OVER (ORDER BY {count} DESC, {group}) AS rank "
        f"FROM {source} WHERE {where} GROUP BY {group}{having}"
    )
    return sql, params


def crash_total(index: ReportIndex, period: Period, module: str | None) -> int:
    """Crashes in the period (with the module on the stack, if given): the 100% of percentages."""
    if module is None:  # every crash has one product ('' when unknown): their day counts
        where, params = _where(index, "t", period, None, "")
        sql = f"SELECT COALESCE(SUM(t.crashes), 0) FROM day_counts AS t WHERE {where} "
        return int(
            index.query(sql + "AND t.field = :field", {**params, "field": TOTAL_FIELD})[0][0]
        )
    source, alias = SIGNATURES.source(module)
    where, params = _where(index, alias, period, module, "")
    return index.query(f"SELECT COUNT(*) FROM {source} WHERE {where}", params)[0][0]


def percent(count: int | None, total: int) -> float | None:
    if count is None:
        return None
    return round(100.0 * count / total, 2) if total else 0.0


def key_values(kind: Kind, row: Any) -> dict[str, Any]:
    return {c.key: (row[c.key] if row[c.key] != "" else None) for c in kind.keys}


def describe(period: Period, module: str | None, total: int, label: str = "") -> str:
    where = f" with {module} on the crashing stack" if module else ""
    return f"{label}{period.describe()}: {total} crash reports{where}"


def report(
    index: ReportIndex,
    kind: Kind,
    period: Period = Period(),
    module: str | None = None,
    top: int = DEFAULT_TOP,
) -> Report:
    """The top ``top`` rows of one kind over one period: rank, key columns, crashes, percent."""
    sql, params = ranked(index, kind, period, module)
    rows = index.query(
        f"SELECT * FROM ({sql}) AS r WHERE rank <= :top ORDER BY rank", {**params, "top": top}
    )
    total = crash_total(index, period, module)
    return Report(
        title=kind.title,
        columns=[
            Column("rank", "rank", RANK),
            *kind.keys,
            Column("crashes", "crashes", COUNT),
            Column("percent", "% of crashes", PERCENT),
        ],
        rows=[
            {
                "rank": row["rank"],
                **key_values(kind, row),
                "crashes": row["crashes"],
                "percent": percent(row["crashes"], total),
            }
            for row in rows
        ],
        context=[describe(period, module, total)],
        label_keys=kind.label_keys,
        series=[("crashes", "crash reports")],
    )
