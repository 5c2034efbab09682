"""``inhouse eval``: can this model do my coding work? Sandboxed tasks, tool calls, statistics."""
