"""--endpoint as users type it: host:port is http, anything else that is not an http(s) URL is refused."""

from __future__ import annotations

import httpx
import pytest

from inhouse.engines.openai_http import OpenAIEngine, normalize_endpoint
from inhouse.errors import ConfigError


@pytest.mark.parametrize("given,url", [
    ("localhost:11434", "http://localhost:11434"),
    ("127.0.0.1:9", "http://127.0.0.1:9"),
    ("[::1]:8080", "http://[::1]:8080"),
    ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
    ("https://api.example.com/v1", "https://api.example.com/v1"),
    (" http://my-box.local:1234 ", "http://my-box.local:1234"),
])
def test_accepted_endpoints_are_urls_httpx_reads_alike(given, url):
    assert normalize_endpoint(given) == url
    parsed = httpx.URL(url)  # the truth: httpx's own parser sees the same scheme, host and port
    assert parsed.scheme in ("http", "https") and parsed.host


@pytest.mark.parametrize("given,needle", [
    ("not-a-url", "not a URL"),
    ("localhost", "not a URL"),
    ("", "empty"),
    ("http://256.1.1.1:9", "not an IPv4 address"),
    ("http://1.2.3:9", "not an IPv4 address"),
    ("ftp://example.com:21", "only http:// and https://"),
    ("http://localhost:99999", "bad host or port"),
    ("http://localhost:0", "port 0"),
    ("http://a_b:9", "not a valid host name"),
    ("http://:9", "no host"),
    ("http://user:pw@host:9", "--api-key"),
    ("http://[zz::1]:9", "bad host or port"),
])
def test_refused_endpoints_say_what_to_write(given, needle):
    with pytest.raises(ConfigError, match=needle) as info:
        normalize_endpoint(given)
    assert "\n" not in str(info.value)


def test_the_engine_refuses_before_connecting():
    with pytest.raises(ConfigError, match="not a URL"):
        OpenAIEngine("not-a-url")
    engine = OpenAIEngine("localhost:11434")
    assert engine.base_url == "http://localhost:11434/v1"
    engine.close()
