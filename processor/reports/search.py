"""Super Search over the report index: Crash Stats's query language on the indexed columns.

A parameter names a field and its value may start with an operator, as in Crash Stats:
``=`` is exactly (also the default), ``~`` contains, ``$`` starts with, ``^`` ends with
(these three ignore case),
``!`` before any of them negates it, ``__null__`` matches no value; dates take ``>``, ``>=``,
``<``, ``<=``. Several values of one field: range operators must all hold, the others any.
Facets count the matching crashes per value of a field. Only the index's columns can be
searched or faceted — all public — so a protected field (a URL, an email address) is refused
with 400 rather than leaked through a filter's or a facet's counts.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from processor.reports.counts import TOTAL_FIELD
from processor.reports.index import ReportIndex
from processor.reports.schema import COUNTED_FIELDS, DIMENSIONS, PAIRS, SQLITE

# Field -> SQL expression over ``crashes AS c``.
FIELDS = {
    "uuid": "c.crash_id",
    "date": "c.date",
    "signature": "c.signature",
    "product": "c.product",
    "version": "c.version",
    **{name: f"c.{name}" for name in DIMENSIONS},
}
# Crash Stats's other names for the OS fields.
ALIASES = {
    "platform": "os_name",
    "platform_version": "os_version",
    "platform_pretty_version": "os_pretty_version",
}
# Fields matched in a table of their own: (table AS alias, column, matched ignoring case).
# module: crashes with it on the crashing stack; missing_symbols (a module's file name) and
# missing_debug_id: crashes with that module lacking symbols.
RELATED = {
    "module": ("crash_modules AS m", "m.module", True),
    "missing_symbols": ("missing_symbols AS s", "s.filename", False),
    "missing_debug_id": ("missing_symbols AS s", "s.debug_id", False),
}
MODULE = "module"
NOT_NULL = ("uuid", "date")
SEARCHABLE = (*FIELDS, *ALIASES, *RELATED)
FACETABLE = ("signature", "product", "version", "date", *DIMENSIONS, *ALIASES)
SORTABLE = ("date", "signature", "product", "version", "uuid", *DIMENSIONS, *ALIASES)
DEFAULT_COLUMNS = ("uuid", "date", "signature", "product", "version")
DEFAULT_FACETS = ("signature",)
DEFAULT_RESULTS = 100
MAX_RESULTS = 1000
MAX_FACET_SIZE = 1000
RANGE = (">=", "<=", ">", "<")
# Read the crashes straight through the table (SQLite) when any index would read this share.
FULL_SCAN_SHARE = 0.2


def column(name: str) -> str:
    """The SQL expression of a field, by its name or Crash Stats's alias."""
    return FIELDS[ALIASES.get(name, name)]


class SearchError(ValueError):
    """A query this search cannot answer (an unknown or protected field, a bad value)."""


@dataclass
class Query:
    filters: dict[str, list[str]] = field(default_factory=dict)
    facets: tuple[str, ...] = DEFAULT_FACETS
    facets_size: int = 50
    columns: tuple[str, ...] = DEFAULT_COLUMNS
    results_number: int = DEFAULT_RESULTS
    results_offset: int = 0
    sort: tuple[str, ...] = ("-date",)


def _int(value: str, name: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise SearchError(f"{name}: expected a number, got {value!r}") from None
    if not low <= number <= high:
        raise SearchError(f"{name}: expected {low}..{high}, got {number}")
    return number


def _names(values: Sequence[str], allowed: Sequence[str], what: str) -> tuple[str, ...]:
    names = tuple(n for v in values for n in v.split(",") if n)
    for name in names:
        if name.lstrip("-") not in allowed:
            raise SearchError(f"{what}: {name!r} is not one of {', '.join(allowed)}")
    return names


def parse_query(params: Sequence[tuple[str, str]]) -> Query:
    """A Query from request parameters (repeated names allowed); SearchError when refused."""
    grouped: dict[str, list[str]] = {}
    for name, value in params:
        grouped.setdefault(name, []).append(value)
    query = Query()
    for name, values in grouped.items():
        if name == "_facets":
            query.facets = _names(values, FACETABLE, "_facets")
        elif name == "_facets_size":
            query.facets_size = _int(values[-1], name, 0, MAX_FACET_SIZE)
        elif name == "_columns":
            query.columns = _names(values, SORTABLE, "_columns")
        elif name == "_results_number":
            query.results_number = _int(values[-1], name, 0, MAX_RESULTS)
        elif name == "_results_offset":
            query.results_offset = _int(values[-1], name, 0, 10**9)
        elif name == "_sort":
            query.sort = _names(values, SORTABLE, "_sort")
        elif name.startswith("_"):
            raise SearchError(f"{name}: not a Super Search option here")
        elif name in SEARCHABLE:
            query.filters[name] = [v for v in values if v != ""]
        else:
            raise SearchError(
                f"{name}: cannot search on this field (searchable: {', '.join(SEARCHABLE)})"
            )
    return query


def _condition(
    index: ReportIndex, name: str, value: str, n: int, params: dict[str, Any]
) -> tuple[str, bool]:
    """(SQL condition, is a range) for one value of one field."""
    negate = value.startswith("!")
    if negate:
        value = value[1:]
    key = f"p{n}"
    related = RELATED.get(name)
    if value == "__null__":
        if related is not None:
            table, _, _ = related
            alias = table.split()[-1]
            sql = f"NOT EXISTS (SELECT 1 FROM {table} WHERE {alias}.crash = c.id)"
        else:
            sql = f"({column(name)} IS NULL OR {column(name)} = '')"
        return (f"NOT {sql}" if negate else sql), False
    for op in RANGE:
        if value.startswith(op):
            if name != "date":
                raise SearchError(f"{name}: {op} applies to dates only")
            value = value[len(op) :].strip()
            params[key] = _date(value)
            return f"{'NOT ' if negate else ''}c.date {op} :{key}", True
    op = value[:1] if value[:1] in ("=", "~", "$", "^") else "="
    if value[:1] == op:
        value = value[1:]
    if name == "date":
        if op != "=":
            raise SearchError(f"date: {op} does not apply to dates")
        value = _date(value)
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    if op == "=":
        params[key], compare = value, f"= :{key}"
    else:
        params[key] = {"~": f"%{escaped}%", "$": f"{escaped}%", "^": f"%{escaped}"}[op]
        compare = f"LIKE lower(:{key}) ESCAPE '\\'"
    if related is not None:
        table, expr, nocase = related
        alias = table.split()[-1]
        if op == "=" and nocase:
            matches = index.module_equals(expr, f":{key}")
        elif op == "=":
            matches = f"{expr} {compare}"
        else:
            matches = f"lower({expr}) {compare}"
        sql = f"EXISTS (SELECT 1 FROM {table} WHERE {alias}.crash = c.id AND {matches})"
    elif op == "=":
        sql = f"{column(name)} {compare}"
    else:  # lower() on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not
        sql = f"lower({column(name)}) {compare}"
    # A negation also matches crashes without the value (NOT of NULL would drop them).
    return (f"({sql}) IS NOT TRUE" if negate else sql), False


def _date(value: str) -> str:
    try:
        return datetime.date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        raise SearchError(f"date: expected YYYY-MM-DD, got {value!r}") from None


def _where(index: ReportIndex, filters: Mapping[str, list[str]]) -> tuple[str, dict[str, Any]]:
    clauses, params, n = ["1 = 1"], {}, 0
    for name, values in filters.items():
        ranges, alternatives = [], []
        for value in values:
            sql, is_range = _condition(index, name, value, n, params)
            n += 1
            (ranges if is_range else alternatives).append(sql)
        clauses.extend(ranges)
        if alternatives:
            clauses.append("(" + " OR ".join(alternatives) + ")")
    return " AND ".join(clauses), params


def _order(name: str) -> str:
    """ORDER BY of one ``_sort`` name: unknown values (NULL) first ascending, last
    descending, as SQLite orders them and PostgreSQL is told to."""
    field = name.lstrip("-")
    descending = name.startswith("-")
    nulls = "" if field in NOT_NULL else " NULLS LAST" if descending else " NULLS FIRST"
    return f"{column(field)} {'DESC' if descending else 'ASC'}{nulls}"


def search(index: ReportIndex, query: Query) -> dict[str, Any]:
    """``{"hits": [...], "total": N, "facets": {field: [{"term", "count"}]}}``.

    A query filtered by date only (the common "last 30 days"), or besides the date by exact
    values of one counted field (``os_name=Windows NT``, ``signature=...``) or one negated
    exact value (``os_name=!Linux``), takes its total
    and facets from the day counts (counts.py), a sum over a few rows per value and day; any
    other filter counts the matching crashes themselves, reading them once for the total and
    every facet (_scanned), on SQLite straight through the table when the day counts say any
    index would read a fifth of it or more (_index_reads)."""
    where, params = _where(index, query.filters)
    narrowed = _narrowed(query)
    dated, dated_params = _where(index, {"date": query.filters.get("date", [])})
    reads = None  # crashes read through the cheapest index, and in all (SQLite only)
    if narrowed is not None:
        total, facets = _counted(index, query, dated, dated_params, *narrowed)
    else:
        if index.dialect == SQLITE:
            reads = _index_reads(index, query, dated, dated_params)
        straight = bool(reads) and reads[0] >= FULL_SCAN_SHARE * reads[1]
        total, facets = _scanned(index, query, index.database.crashes(straight), where, params)
    if query.results_number == 0 or total <= query.results_offset:
        return {"hits": [], "total": total, "facets": facets}
    if index.dialect == SQLITE and reads is None:
        reads = _index_reads(index, query, dated, dated_params)
    needed = query.results_offset + query.results_number
    # Walking an index in date order stops after ``needed`` matches: about this many reads.
    walked = bool(reads) and reads[0] * min(1.0, needed / total) >= FULL_SCAN_SHARE * reads[1]
    order = ", ".join(_order(name) for name in query.sort)
    columns = ", ".join(f"{column(c)} AS {c}" for c in query.columns) or "c.crash_id AS uuid"
    rows = index.query(
        f"SELECT {columns} FROM {index.database.crashes(walked)} WHERE {where} "
        f"ORDER BY {order or 'c.date DESC'}, c.crash_id LIMIT :limit OFFSET :offset",
        {**params, "limit": query.results_number, "offset": query.results_offset},
    )
    return {"hits": [dict(row) for row in rows], "total": total, "facets": facets}


def _index_reads(
    index: ReportIndex, query: Query, dated: str, dated_params: dict[str, Any]
) -> tuple[int, int]:
    """(crashes the most selective index SQLite could search would read, crashes in all),
    from the day counts: the date range's (crashes_date_signature), or the exact signatures'
    or products' in it (crashes_signature_date, crashes_product_date).

    SQLite has no statistics on how many crashes a date range holds, so it takes the date
    index whatever the range; each crash read through an index is a lookup in the table,
    and past about a fifth of the table reading it straight through is faster (200,000
    crashes: a range of half of them 0.07 s through the index, 0.04 s straight through
    when crashes were indexed in date order, 0.21 s when in random order). PostgreSQL
    keeps statistics and decides for itself."""
    params = {**dated_params, "total_field": TOTAL_FIELD}
    everything = (
        "SELECT COALESCE(SUM(crashes), 0) FROM day_counts AS c WHERE c.field = :total_field"
    )
    total = index.query(everything, params)[0][0]
    reads = [index.query(f"{everything} AND {dated}", params)[0][0]]
    for name, table in (("signature", "signature_day_counts"), ("product", "day_counts")):
        values = _exact(query.filters.get(name, ()))
        if not values:
            continue
        marks = ", ".join(f":x{n}" for n in range(len(values)))
        key = "c.signature" if name == "signature" else "c.value"
        counted = index.query(
            f"SELECT COALESCE(SUM(crashes), 0) FROM {table} AS c WHERE c.field = :total_field "
            f"AND {key} IN ({marks}) AND {dated}",
            {**params, **{f"x{n}": value for n, value in enumerate(values)}},
        )
        reads.append(counted[0][0])
    return int(min(reads)), int(total)


Facets = dict[str, list[dict[str, Any]]]


def _scanned(
    index: ReportIndex, query: Query, source: str, where: str, params: dict[str, Any]
) -> tuple[int, Facets]:
    """Total and facets counted over the matching crashes, in one statement that reads them
    once (Database.counted_by_each: grouping sets on PostgreSQL, a temporary table grouped
    by each facet on SQLite) rather than a pass for the total and one per facet: over
    200,000 crashes and 3 facets, 2-5x faster.

    Memory stays bounded whatever the number of matches: the database holds a row per
    distinct term of each facet (or, on SQLite, the faceted columns of the matches), and
    spills what outgrows its working memory to temporary files; what comes back is at most
    ``_facets_size`` (at most MAX_FACET_SIZE) terms per facet (at most len(FACETABLE)),
    and the total."""
    exprs = list(dict.fromkeys(column(name) for name in query.facets))
    rows = index.query(
        index.database.counted_by_each(exprs, f"FROM {source} WHERE {where}", ":size"),
        {**params, "size": query.facets_size},
    )
    total, terms = 0, {expr: [] for expr in exprs}
    for row in rows:
        if row["facet"] < 0:
            total = row["count"]
        else:
            terms[exprs[row["facet"]]].append({"term": row["term"], "count": row["count"]})
    return total, {name: terms[column(name)] for name in query.facets}


def _narrowed(query: Query) -> tuple[str | None, list[str], bool] | None:
    """(field, values, negated) when the day counts answer the query: no filter besides the
    date (field None), or one counted field with exact values ('' standing for ``__null__``,
    which the counts keep as '') or with one negated exact value (every crash but those with
    it, unknowns included, as the SQL's ``IS NOT TRUE`` has it); None when the crashes must
    be counted."""
    others = [name for name in query.filters if name != "date"]
    if not others:
        return None, [], False
    if len(others) > 1 or ALIASES.get(others[0], others[0]) not in COUNTED_FIELDS:
        return None
    field, given = ALIASES.get(others[0], others[0]), query.filters[others[0]]
    negated = given[0].startswith("!")
    if negated:
        # Alternatives are ORed: two different negations together match every crash, which
        # is rare enough to leave to the crashes counted.
        if len(set(given)) != 1:
            return None
        given = [given[0][1:]]
    if any(value.startswith("!") for value in given):
        return None
    values = _exact(given)
    return (field, values, negated) if values else None


def _exact(values: Sequence[str]) -> list[str] | None:
    """The values as the counts keep them ('' standing for ``__null__``) when each is an
    exact one; None when any has another operator (or none is given)."""
    exact = []
    for value in values:
        if value == "__null__":
            exact.append("")
            continue
        if value.startswith("="):
            value = value[1:]
        elif value[:1] in ("!", "~", "$", "^"):
            return None
        if not value:  # "=" alone matches '' only, where the counts also hold unknowns
            return None
        exact.append(value)
    return exact or None


def _count_source(field: str | None, values: str, facet: str) -> tuple[str, str]:
    """(FROM a count table aliased ``c`` WHERE ..., the facet's term there): crashes counted
    by ``facet`` (``total``: in all) among those whose ``field`` is (or is not) one of the
    values (``values``: ``IN (...)`` or ``NOT IN (...)`` over parameters), or among all
    (``field`` None). The field and facet are names from COUNTED_FIELDS, bound as ``:field``
    and ``:facet``."""
    if field is None:
        if facet in ("date", "total"):  # every crash has one product ('' when unknown)
            return "day_counts AS c WHERE c.field = :total_field", "c.date"
        return "day_counts AS c WHERE c.field = :facet", "c.value"
    if facet in ("date", "total", field):
        term = "c.value" if facet == field else "c.date"
        return f"day_counts AS c WHERE c.field = :field AND c.value {values}", term
    if field == "signature":
        return (
            f"signature_day_counts AS c WHERE c.signature {values} AND c.field = :facet",
            "c.value",
        )
    if facet == "signature":
        return (
            f"signature_day_counts AS c WHERE c.field = :field AND c.value {values}",
            "c.signature",
        )
    if (field, facet) in PAIRS:
        return (
            "pair_day_counts AS c WHERE c.field = :field AND c.other = :facet "
            f"AND c.value {values}",
            "c.other_value",
        )
    return (
        "pair_day_counts AS c WHERE c.field = :facet AND c.other = :field "
        f"AND c.other_value {values}",
        "c.value",
    )


def _counted(
    index: ReportIndex,
    query: Query,
    where: str,
    params: dict[str, Any],
    field: str | None,
    values: list[str],
    negated: bool,
) -> tuple[int, Facets]:
    """Total and facets summed from the day counts (``where`` is on ``c.date`` only; see
    _narrowed for ``field``, ``values`` and ``negated``)."""
    marks = "(" + ", ".join(f":v{n}" for n in range(len(values))) + ")"
    marks = f"NOT IN {marks}" if negated else f"IN {marks}"
    params = {
        **params,
        **{f"v{n}": value for n, value in enumerate(values)},
        "field": field,
        "total_field": TOTAL_FIELD,
    }
    source, _ = _count_source(field, marks, "total")
    total = index.query(f"SELECT COALESCE(SUM(crashes), 0) FROM {source} AND {where}", params)
    facets = {}
    for name in query.facets:
        facet = ALIASES.get(name, name)
        source, term = _count_source(field, marks, facet)
        counted = index.query(
            f"SELECT {term} AS term, SUM(crashes) AS count FROM {source} AND {where} "
            f"GROUP BY {term} HAVING SUM(crashes) > 0 ORDER BY count DESC, term LIMIT :size",
            {**params, "facet": facet, "size": query.facets_size},
        )
        facets[name] = [
            {"term": row["term"] if row["term"] != "" else None, "count": int(row["count"])}
            for row in counted
        ]
    return int(total[0][0]), facets
