from textkit import truncate

def test_truncate():
    assert truncate("hello world", 8) == "hello..."
    assert truncate("short", 8) == "short"
    assert truncate("exactly8", 8) == "exactly8"
    assert len(truncate("a" * 50, 10)) == 10
