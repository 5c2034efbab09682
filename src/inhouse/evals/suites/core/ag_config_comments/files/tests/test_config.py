from config import parse_config

def test_comments():
    text = "# settings\nname = demo\n\nport = 8080\n"
    assert parse_config(text) == {"name": "demo", "port": "8080"}
