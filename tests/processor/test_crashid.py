from __future__ import annotations

import datetime

import pytest

from processor.crashid import (
    InvalidCrashId,
    crash_id_problem,
    create_crash_id,
    date_from_crash_id,
    throttle_from_crash_id,
    validate_crash_id,
)


def test_created_id_is_valid_and_carries_its_date():
    when = datetime.datetime(2026, 3, 9, 12, 0, tzinfo=datetime.UTC)
    crash_id = create_crash_id(when, throttle=1)
    assert validate_crash_id(crash_id) == crash_id
    assert crash_id.endswith("1260309")
    assert date_from_crash_id(crash_id) == datetime.date(2026, 3, 9)
    assert throttle_from_crash_id(crash_id) == 1


def test_ids_are_unique():
    assert len({create_crash_id() for _ in range(1000)}) == 1000


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "not-a-crash-id",
        "DE1BB258-CBBF-4589-A673-34F800160918",  # upper case
        "de1bb258-cbbf-4589-a673-34f80016091",  # too short
        "de1bb258-cbbf-4589-a673-34f8001609x8",  # date not digits
        "de1bb258-cbbf-4589-a673-34f800161318",  # month 13
        "../../etc/passwd",
    ],
)
def test_malformed_ids_are_rejected_with_a_clear_message(bad):
    with pytest.raises(InvalidCrashId, match="malformed crash id"):
        validate_crash_id(bad)


def test_non_string_id():
    assert crash_id_problem(12) == "crash id must be a string, not int"
    with pytest.raises(InvalidCrashId):
        date_from_crash_id(None)  # type: ignore[arg-type]


def test_throttle_digit_must_be_single():
    with pytest.raises(ValueError):
        create_crash_id(throttle=10)


def test_the_date_is_read_as_strptime_reads_yymmdd():
    import datetime

    from processor.crashid import crash_id_problem, date_from_crash_id

    prefix = "de1bb258-cbbf-4589-a673-34f80"
    for year in range(100):
        for month, day in [(1, 1), (2, 28), (2, 29), (2, 30), (12, 31), (13, 1), (0, 5), (4, 31)]:
            digits = f"{year:02d}{month:02d}{day:02d}"
            try:
                expected = datetime.datetime.strptime(digits, "%y%m%d").date()
            except ValueError:
                expected = None
            crash_id = f"{prefix}0{digits}"
            if expected is None:
                assert "is not a yymmdd date" in crash_id_problem(crash_id)
            else:
                assert crash_id_problem(crash_id) is None
                assert date_from_crash_id(crash_id) == expected
