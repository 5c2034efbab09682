from calendarx import is_leap

def test_leap():
    assert is_leap(2024) and not is_leap(2023)
    assert not is_leap(1900) and is_leap(2000)
