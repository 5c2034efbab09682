from inhouse.engines._tags import TagSplitter


def run(pieces, tags=None):
    s = TagSplitter(tags)
    out = []
    for p in pieces:
        out += s.feed(p)
    out += s.flush()
    merged = []
    for kind, text in out:
        if merged and merged[-1][0] == kind and kind != "tool":
            merged[-1] = (kind, merged[-1][1] + text)
        else:
            merged.append((kind, text))
    return merged


def test_plain_text_passes_through():
    assert run(["Hello ", "world"]) == [("text", "Hello world")]


def test_think_block_split_across_pieces():
    assert run(["<th", "ink>plan", " more</th", "ink>", "answer"]) == [("reasoning", "plan more"), ("text", "answer")]


def test_tool_call_block_is_emitted_whole():
    out = run(['x<tool_', 'call>{"name": "f",', ' "arguments": {}}</tool_call>y'])
    assert out == [("text", "x"), ("tool", '{"name": "f", "arguments": {}}'), ("text", "y")]


def test_angle_bracket_that_is_not_a_tag():
    assert run(["a < b and <b>bold</b>"]) == [("text", "a < b and <b>bold</b>")]


def test_unterminated_think_stays_reasoning():
    assert run(["<think>never ends"]) == [("reasoning", "never ends")]


def test_tags_can_be_limited():
    assert run(["<tool_call>x</tool_call>"], {"think": "reasoning"}) == [("text", "<tool_call>x</tool_call>")]
