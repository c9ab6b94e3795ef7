"""The one ISO 8601 parser (`ingest.times.iso_to_utc`): a naive time is read as UTC by a second parse with the
offset appended (cheaper than `replace`), which must give the very datetime `replace` gives, in every form
`datetime.fromisoformat` accepts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.times import NaiveTime, iso_to_utc

_NAIVE = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))


@given(
    _NAIVE,
    st.sampled_from(["T", " "]),
    st.sampled_from(["auto", "hours", "minutes", "seconds", "milliseconds", "microseconds"]),
)
def test_a_naive_time_is_the_same_instant_in_utc_in_every_form(dt, sep, spec):
    text = dt.isoformat(sep=sep, timespec=spec)
    expected = datetime.fromisoformat(text).replace(tzinfo=UTC)
    got = iso_to_utc(text)
    assert got == expected and got.tzinfo is UTC


@given(_NAIVE, st.integers(min_value=-14 * 60, max_value=14 * 60))
def test_an_aware_time_is_converted_to_utc(dt, minutes):
    tz = timezone(timedelta(minutes=minutes))
    text = dt.replace(tzinfo=tz).isoformat()
    got = iso_to_utc(text)
    assert got == dt.replace(tzinfo=tz) and got.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2025-08-20", datetime(2025, 8, 20, tzinfo=UTC)),
        ("20250820", datetime(2025, 8, 20, tzinfo=UTC)),
        ("2025-08-20T05", datetime(2025, 8, 20, 5, tzinfo=UTC)),
        ("2025-W34-3T05:00", datetime(2025, 8, 20, 5, tzinfo=UTC)),
        (" 2025-08-20T05:54:04Z ", datetime(2025, 8, 20, 5, 54, 4, tzinfo=UTC)),
        ("2025-08-20T05:54:04.5+03:00", datetime(2025, 8, 20, 2, 54, 4, 500000, tzinfo=UTC)),
    ],
)
def test_iso_forms(text, expected):
    got = iso_to_utc(text)
    assert got == expected and got.utcoffset() == timedelta(0)


def test_a_naive_time_is_refused_where_an_offset_is_required():
    with pytest.raises(NaiveTime):
        iso_to_utc("2025-08-20 05:54:04", naive_is_utc=False)
    with pytest.raises(ValueError):
        iso_to_utc("20 August 2025")
