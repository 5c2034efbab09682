from config import parse_config

def test_comments_and_blanks():
    text = "# settings\nname = demo\n\n   # indented comment\nport = 8080\nurl = a=b\n"
    assert parse_config(text) == {"name": "demo", "port": "8080", "url": "a=b"}
