"""Property: any schedule of overlapping windows, re-runs, backfills, deferrals and failures over a changing channel
ends in the warehouse of one clean pass.

The platform changes between hourly epochs (tests/reliability/streams.py). The *clean pass* runs one incremental
`run_channel` per epoch with a rescan of the whole history, so it sees every post's state at every epoch. The
*chaotic* schedule runs, at each epoch, a random list of operations (incremental runs with random rescan spans,
windows [since, until) anywhere on the timeline including backfills of old windows and windows reaching the
future, exact re-runs of the previous operation, runs the source defers (FloodWait) or breaks on its j-th
request), then a closing pass that looks at every post: either one incremental run with a full rescan, or a
shuffled set of overlapping windows tiling the whole timeline followed by the hourly incremental run rescanning
back to the newest live post (only a rescan bounded by the cursor can show that posts above the newest live one
were deleted; a window cannot). Both schedules therefore observe every post's state at every epoch, possibly
several times and at different moments; the warehouse must not depend on how often or in which order it looked.

"The same" is defined in tests/reliability/state.py: posts equal except observation/bookkeeping times (and
deleted_at compared as a flag), versions/raw/channels/aliases equal by `table_checksums`, metrics equal as the
per-post sequence of distinct count states (observed_at differs by construction: runs looked at different
times), cursors equal. After every operation: no run is left 'running', the connection is idle, and the cursor
has not passed any live message that is not recorded.
"""

from __future__ import annotations

import os

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import truncate_all
from tests.reliability.schedules import FULL, chaotic_pass, clean_pass
from tests.reliability.state import consecutive_repeats, snapshot
from tests.reliability.streams import generate_stream

#: More examples for a deeper search: WIREWATCH_PROPERTY_EXAMPLES=500 pytest tests/reliability/test_property.py
EXAMPLES = int(os.environ.get("WIREWATCH_PROPERTY_EXAMPLES", "40"))

_frac = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
_rescan = st.sampled_from([0.0, 1.0, 3.0, 30.0, FULL])
_op = st.one_of(
    st.tuples(st.just("cursor"), _rescan),
    st.tuples(
        st.just("window"),
        st.one_of(st.none(), _frac),
        st.one_of(st.none(), _frac),
        _rescan,
        st.sampled_from(["ingest", "backfill"]),
    ),  # fmt: skip
    st.just(("rerun",)),
    st.tuples(st.just("defer"), st.integers(1, 4)),
    st.tuples(st.just("fail"), st.integers(1, 4)),
)
_closing = st.one_of(
    st.just(("full",)),
    st.tuples(st.just("tiles"), st.lists(_frac, min_size=0, max_size=4), st.integers(0, 2**16)),
)


@st.composite
def scenarios(draw):
    epochs = draw(st.integers(2, 4))
    configured_id = draw(st.booleans())
    stream = generate_stream(
        draw(st.integers(0, 2**20)),
        messages=draw(st.integers(5, 28)),
        epochs=epochs,
        rename=draw(st.booleans()),
    )
    schedule = [(draw(st.lists(_op, max_size=5)), draw(_closing)) for _ in range(epochs)]
    return stream, schedule, draw(st.integers(2, 6)), configured_id, draw(st.booleans())


@pytest.mark.slow
@settings(
    max_examples=EXAMPLES, deadline=None, derandomize=False, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)  # fmt: skip
@given(scenario=scenarios())
def test_any_schedule_ends_in_the_clean_pass_warehouse(dsn, scenario):
    stream, schedule, batch_size, configured_id, empties = scenario
    with psycopg.connect(dsn) as conn:
        truncate_all(dsn)
        clean_pass(conn, stream, batch_size, configured_id, empties)
        expected = snapshot(conn)
        truncate_all(dsn)
        chaos = chaotic_pass(conn, stream, schedule, batch_size, configured_id, empties)
        got = snapshot(conn)
    assert expected.posts, "the stream produced no posts"
    assert not expected.rejected, expected.rejected
    assert not consecutive_repeats(got), consecutive_repeats(got)
    diff = expected.diff(got)
    assert not diff, "\n".join(diff[:30] + ["--- schedule:"] + chaos.log)
