"""``inhouse serve``: a local-first gateway speaking the OpenAI and Anthropic APIs."""
