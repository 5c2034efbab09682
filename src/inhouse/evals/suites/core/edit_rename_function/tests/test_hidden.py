import textutils
from report import headline
from words import words

def test_renamed():
    assert textutils.strip_punctuation("a, b!") == "a b"
    assert not hasattr(textutils, "strp")

def test_callers():
    assert headline("Hello, world!") == "HELLO WORLD"
    assert words("one, two; three.") == ["one", "two", "three"]
