from textkit import title_case, truncate

def test_title():
    assert title_case("hello world") == "Hello World"

def test_truncate():
    assert truncate("hello world", 8) == "hello..."
    assert truncate("short", 8) == "short"
