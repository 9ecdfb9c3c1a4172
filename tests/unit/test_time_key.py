from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from smsledger.projections.persistence import TIME_FORMAT, from_time_key, time_key

zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=-8)), timezone(timedelta(hours=5, minutes=30))]
)
moments = st.datetimes(
    min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30), timezones=zones
)


@given(moments)
def test_time_key_is_the_time_format_in_utc(moment):
    assert time_key(moment) == moment.astimezone(UTC).strftime(TIME_FORMAT)
    assert from_time_key(time_key(moment)) == moment


@given(moments, moments)
def test_time_keys_sort_as_their_times(a, b):
    assert (time_key(a) < time_key(b)) == (a < b)
