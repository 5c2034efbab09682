"""The secret detectors' shortcuts skip only text a regex cannot match in: with them, every
regex finds exactly what a plain ``finditer`` over the whole text finds."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from inhouse.gateway import detectors
from inhouse.gateway import privacy

from .privacy_corpus import _FIXED, CLEAN_SNIPPETS

SOURCE = "".join(p.read_text() for p in sorted((Path(privacy.__file__).parent).glob("*.py")))

# one match of each shortcut regex (made-up values), to build texts around
SAMPLES = [
    "AKCp5budTFpbypBqQbGJPz3pGCi7Pvv7tGSk5zcQ", "AP6xxxxxxxxxx", "APBxyz12345678",
    'ibm_cloud_iam_key = "' + "a1B2-c3D4_" * 4 + 'abcd"', 'token: "' + "Q" * 44 + '"',
    'cos_hmac_secret_access_key="' + "0123456789abcdef" * 3 + '"',
    "softlayer_api_key = " + "a1" * 32, "sl_token:" + "b2" * 32,
    "cloudant_password = '" + "0f" * 32 + "'", "cl_key: " + "abcdefghijklmnopqrstuvwx",
    "https://user:" + "ab" * 32 + "@acct.cloudant.com", "https://user:" + "abcdefghijklmnopqrstuvwx" + "@acct.cloudant.com",
    "http://api.softlayer.com/soap/v3/" + "c3" * 32, "https://hooks.slack.com/services/T0A/B1B/xyz",
    "xoxb-1234-5678-abcdef", "sk_live_" + "aB3" * 8, "0123456789abcdef0123456789abcdef-us12",
    "123456789:" + "AAHx_-" * 6, "hf_" + "abcdefghij" * 3 + "abcd", "github_pat_" + "A1_" * 20,
    "sk-ant-api03-" + "x" * 40, "AIza" + "B" * 35, "Server=x;Password=Qz81kkLm0p;", 'aws_key = "' + "A" * 40 + '"',
    "postgres://acme:Tr0ub4dor-77x@db.acme.internal/x", "export SESSION_SECRET=f9a8b7c6d5e4f3a2b1",
]
# characters that change how the regexes see a match: line breaks, quotes, brackets, case, and
# the non-ASCII letters IGNORECASE takes for ASCII ones
NOISE = ["\n", "\r\n", " ", '"', "'", "[", "]", "=", ":", "-", "_", "\u0130", "\u0131", "\u017f", "\u212a",
         "x", "X", "0", "\t"]


def _texts() -> list[str]:
    rnd = random.Random(7)
    texts = [SOURCE, *CLEAN_SNIPPETS, *_FIXED.values(), *SAMPLES]
    for sample in SAMPLES + list(_FIXED.values()):
        for _ in range(25):
            chars = list(sample)
            for _ in range(rnd.randint(0, 3)):  # mutate, insert or swap case
                i = rnd.randrange(len(chars) + 1)
                op = rnd.random()
                if op < 0.4:
                    chars.insert(i, rnd.choice(NOISE))
                elif op < 0.7 and i < len(chars):
                    chars[i] = rnd.choice(NOISE)
                elif i < len(chars):
                    chars[i] = chars[i].swapcase()
            before, after = rnd.choice(NOISE + ["", "key = ", "\n\n"]), rnd.choice(NOISE + [""])
            texts.append(before + "".join(chars) + after)
        texts.append(sample.upper())
        texts.append(sample.replace("s", "\u017f").replace("k", "\u212a").replace("i", "\u0131"))
    return texts


TEXTS = _texts()


def _shortcut_regexes() -> list[re.Pattern]:
    out = [rx for _, _, rx, _ in detectors._token_regexes() if rx.pattern in detectors.PREFILTERS]
    return out + [detectors._KV_PASSWORD_RE]


def test_every_shortcut_names_a_regex_in_use():
    """A detect-secrets upgrade that changes a pattern drops its shortcut: say so, here."""
    in_use = {rx.pattern for rx in _shortcut_regexes()}
    assert set(detectors.PREFILTERS) == in_use


def test_samples_match_what_they_are_for():
    """The samples exercise the shortcuts: each shortcut regex matches at least one of them."""
    for rx in _shortcut_regexes():
        assert any(rx.search(t) for t in SAMPLES + list(_FIXED.values())), rx.pattern[:60]


@pytest.mark.parametrize("rx", _shortcut_regexes(), ids=lambda rx: rx.pattern[:40])
def test_shortcut_finds_what_a_full_search_finds(rx):
    found = 0
    for text in TEXTS:
        plain = [m.span() for m in rx.finditer(text)]
        quick = [m.span() for m in detectors._Text(text).finditer(rx)]
        assert quick == plain, (rx.pattern[:60], text[:120])
        found += len(plain)
    assert found  # the texts hold matches, so equality is not two empty lists


def test_short_texts_skip_regexes_only_when_too_short():
    """The width shortcut: a regex is skipped only for texts shorter than any match of it."""
    for _, _, rx, width in detectors._token_regexes():
        for text in SAMPLES + list(_FIXED.values()):
            for m in rx.finditer(text):
                assert m.end() - m.start() >= width


def test_rewritten_own_regexes_match_their_originals():
    """The env-line and URL-credential regexes were reordered (a literal or a character class
    first, so the engine skips ahead); they find what the originals found."""
    env_old = re.compile(r"""(?m)(?:^|(?<=[ \t]))(?:export[ \t]+)?([A-Z][A-Z0-9_]{1,63})=["']?([^\s"'#]{8,})["']?[ \t]*$""")
    url_old = re.compile(r"(?<=[a-zA-Z0-9+.\-])://[^\s:/@'\"]{1,128}:([^\s@/'\"]{1,256})@[\w.\-]")
    hits = 0
    for text in TEXTS:
        for old, new in ((env_old, detectors._ENV_LINE_RE), (url_old, detectors._URL_CREDS_RE)):
            a = [m.span(m.lastindex) for m in old.finditer(text)]
            assert a == [m.span(m.lastindex) for m in new.finditer(text)], text[:120]
            hits += len(a)
    assert hits


def test_paths_and_url_escapes_match_their_originals():
    """privacy's path regex (literal-first branches) and URL-escape tokens (found from each %XX)
    give the spans the original one-regex forms gave."""
    path_old = re.compile(r"""(?:(?<=^)|(?<=[\s"'`=(\[<,{>]))(?:file://)?(~?/[^\s"'`<>()\[\]{},;*?|\\]+)""")
    url_old = re.compile(r"[^\s\"'<>]*%[0-9A-Fa-f]{2}[^\s\"'<>]*")
    rnd = random.Random(3)
    alphabet = list("ab/~ fle:\"'`=([<,{>%2F0z\n\t.;*?|\\") + ["file://", "~/", "%41", "%zz", "/x/y"]
    texts = TEXTS + ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 30))) for _ in range(5000)]
    paths = escapes = 0
    for text in texts:
        a = [(m.start(1), m.group(1)) for m in path_old.finditer(text)]
        b = [(m.start(m.lastindex), m.group(m.lastindex)) for m in privacy._PATH_RE.finditer(text)]
        assert a == b, text[:120]
        c = [m.span() for m in url_old.finditer(text)]
        assert c == privacy._url_tokens(text), text[:120]
        paths, escapes = paths + len(a), escapes + len(c)
    assert paths and escapes


def test_fold_holds_every_ascii_literal_ignorecase_can_match():
    """For each character that IGNORECASE matches to an ASCII letter or digit, ``fold`` maps it
    onto that letter, so a literal gate never skips text the regex would match."""
    import sys

    everything = "".join(chr(cp) for cp in range(sys.maxunicode + 1) if not 0xD800 <= cp <= 0xDFFF)
    seen = 0
    for a in "abcdefghijklmnopqrstuvwxyz0123456789":
        for m in re.finditer(a, everything, re.IGNORECASE):
            assert a in detectors.fold(m.group()), (a, hex(ord(m.group())))
            seen += 1
    assert seen > 62  # upper and lower case, and the four non-ASCII ones
