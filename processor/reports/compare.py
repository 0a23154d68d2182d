"""Before and after: two periods' rankings side by side, with how each row moved.

This is how one shows that a fix worked: the signature it addressed drops or is gone after the
release, the module whose symbols were uploaded leaves the missing-symbols table. Both sides
come from the same ranked query as the plain reports, joined in SQL on the key columns.
"""

from __future__ import annotations

import datetime

from processor.reports.index import ReportIndex
from processor.reports.model import CHANGE, COUNT, PERCENT, RANK, Column, Report
from processor.reports.queries import (
    DEFAULT_TOP,
    Kind,
    Period,
    crash_total,
    describe,
    key_values,
    percent,
    ranked,
)


class PeriodError(ValueError):
    """A SINCE..UNTIL argument that is not two dates (either may be left out) in order."""


def parse_period(text: str) -> Period:
    """``SINCE..UNTIL`` with YYYY-MM-DD dates; ``SINCE..`` and ``..UNTIL`` leave an end open."""
    since, separator, until = text.partition("..")
    if not separator:
        raise PeriodError(f"{text[:60]!r} is not a period (SINCE..UNTIL, dates as YYYY-MM-DD)")
    try:
        period = Period(
            datetime.date.fromisoformat(since) if since else None,
            datetime.date.fromisoformat(until) if until else None,
        )
    except ValueError:
        raise PeriodError(f"{text[:60]!r}: dates must be YYYY-MM-DD") from None
    if period.since and period.until and period.since > period.until:
        raise PeriodError(f"{text[:60]!r}: the first day is after the last")
    return period


def rank_change(before: int | None, after: int | None) -> str:
    """How a row moved between two rankings: new, gone, up N, down N or same."""
    if before is None:
        return "new"
    if after is None:
        return "gone"
    if after < before:
        return f"up {before - after}"
    if after > before:
        return f"down {after - before}"
    return "same"


def compare(
    index: ReportIndex,
    kind: Kind,
    before: Period,
    after: Period,
    module: str | None = None,
    top: int = DEFAULT_TOP,
) -> Report:
    """Both periods' rankings side by side: every row in either top ``top``, with its change.

    Ranks are over each whole period (a row at rank 80 before that climbs into the top 10 is
    "up 70", not "new"); "new" and "gone" mean no crashes at all in the other period. Rows come
    in the after period's order, then those gone from it.
    """
    before_sql, before_params = ranked(index, kind, before, module, "b_")
    after_sql, after_params = ranked(index, kind, after, module, "a_")
    names = [c.key for c in kind.keys]
    keys = ", ".join(names)
    joins = " ".join(
        f"LEFT JOIN {side} ON " + " AND ".join(f"{side}.{n} = k.{n}" for n in names)
        for side in ("b", "a")
    )
    sql = (
        f"WITH b AS ({before_sql}), a AS ({after_sql}), "
        f"k AS (SELECT {keys} FROM b WHERE rank <= :top "
        f"UNION SELECT {keys} FROM a WHERE rank <= :top) "
        f"SELECT {', '.join(f'k.{n}' for n in names)}, b.crashes AS b_crashes, b.rank AS b_rank, "
        f"a.crashes AS a_crashes, a.rank AS a_rank FROM k {joins} "
        f"ORDER BY a.rank IS NULL, a.rank, b.rank"
    )
    rows = index.query(sql, {**before_params, **after_params, "top": top})
    before_total = crash_total(index, before, module)
    after_total = crash_total(index, after, module)
    return Report(
        title=f"{kind.title}: before and after",
        columns=[
            *kind.keys,
            Column("before_rank", "before rank", RANK),
            Column("before_crashes", "before crashes", COUNT),
            Column("before_percent", "before %", PERCENT),
            Column("after_rank", "after rank", RANK),
            Column("after_crashes", "after crashes", COUNT),
            Column("after_percent", "after %", PERCENT),
            Column("change", "change", CHANGE),
        ],
        rows=[
            {
                **key_values(kind, row),
                "before_rank": row["b_rank"],
                "before_crashes": row["b_crashes"] or 0,
                "before_percent": percent(row["b_crashes"] or 0, before_total),
                "after_rank": row["a_rank"],
                "after_crashes": row["a_crashes"] or 0,
                "after_percent": percent(row["a_crashes"] or 0, after_total),
                "change": rank_change(row["b_rank"], row["a_rank"]),
            }
            for row in rows
        ],
        context=[
            describe(before, module, before_total, "before: "),
            describe(after, module, after_total, "after: "),
        ],
        label_keys=kind.label_keys,
        series=[("before_crashes", "before"), ("after_crashes", "after")],
    )
