"""INTERIM stand-in until gw-translate lands."""


def repair_tool_calls(text, tools):
    return text, []


class StreamRepair:
    def __init__(self, tools):
        pass

    def feed(self, text):
        return text, []

    def finish(self):
        return "", []
