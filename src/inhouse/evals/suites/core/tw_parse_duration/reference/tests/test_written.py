import pytest
from durations import parse_duration

def test_parse():
    assert parse_duration('1h30m') == 5400
    assert parse_duration('2h5m10s') == 7510
    for bad in ('', 'abc', '5x'):
        with pytest.raises(ValueError):
            parse_duration(bad)
