"""The recommendation as command lines: an ``inhouse serve`` config, ``llama-server`` flags, an
Ollama Modelfile, and a gateway policy that follows the eval results. Pure text from dicts."""

from __future__ import annotations

import shlex

# pass@1 lower bound (95%) a category needs before requests of that kind may stay local
LOCAL_MIN = 0.6


def llama_server_flags(rec: dict) -> str:
    args = ["llama-server", "-m", rec["path"], "-c", str(rec["n_ctx"]), "-t", str(rec["threads"]),
            "--flash-attn", "on" if rec["flash_attn"] else "off", "-ctk", rec["cache_type"], "-ctv",
            rec["cache_type"], "-ub", str(rec["n_ubatch"]), "--jinja", "--host", "127.0.0.1", "--port", "8080"]
    return " ".join(shlex.quote(a) for a in args)


def ollama_modelfile(rec: dict) -> str:
    lines = [f"FROM {rec['path']}", f"PARAMETER num_ctx {rec['n_ctx']}", f"PARAMETER num_thread {rec['threads']}",
             f"PARAMETER num_batch {rec['n_ubatch']}",
             "# Ollama sets the KV cache type and flash attention for the whole server, not per model:",
             f"#   OLLAMA_FLASH_ATTENTION={1 if rec['flash_attn'] else 0} OLLAMA_KV_CACHE_TYPE={rec['cache_type']} "
             "ollama serve"]
    return "\n".join(lines)


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def serve_config(rec: dict, policy: list[dict]) -> str:
    """An ``inhouse serve`` config: the recommended model as the local backend, a cloud fallback,
    and the policy as comments plus capability requirements for the categories that passed."""
    out = [
        "[[backend]]",
        'name = "local"',
        'kind = "local"',
        f"gguf = {_toml_str(rec['path'])}",
        f"ctx = {rec['n_ctx']}",
        f"cache_type_k = {_toml_str(rec['cache_type'])}",
        f"cache_type_v = {_toml_str(rec['cache_type'])}",
        f"# threads {rec['threads']}, flash attention {'on' if rec['flash_attn'] else 'off'}, ubatch {rec['n_ubatch']}: "
        "measured fastest here",
        "",
        "[[backend]]",
        'name = "cloud"',
        'kind = "anthropic"',
        'url = "https://api.anthropic.com"',
        'api_key_env = "ANTHROPIC_API_KEY"',
        "",
    ]
    for p in policy:
        out.append(f"# {p['request']}: {p['why']}")
    local_ok = [p for p in policy if p["where"] == "local"]
    out += ["", "[[route]]", 'match = "*"', 'chain = ["local", "cloud"]' if local_ok else 'chain = ["cloud", "local"]']
    # the gateway reads the stored eval runs itself (at start and on reload), so the same rule keeps
    # routing right after a new `inhouse eval` of this model
    out += ["", "[policy.backends.local]", f"eval_model = {_toml_str(rec['name'])}",
            "", "[[policy.rule]]", 'name = "agent requests (with tools) go local only where agentic evals pass"',
            "when = { has_tools = true }",
            f'require = {{ suite = "core", category = "agentic", metric = "pass@1", min = {LOCAL_MIN}, bound = "low" }}',
            "", "[[policy.rule]]", 'name = "other requests go local only where synthesis evals pass"',
            "when = { has_tools = false }",
            f'require = {{ suite = "core", category = "synthesis", metric = "pass@1", min = {LOCAL_MIN}, '
            'bound = "low" }']
    return "\n".join(out)


REQUEST_KINDS = {  # request class -> the eval category that answers for it
    "requests with tools (agents)": "agentic",
    "tool calls (single calls, choosing among tools)": "tool_calling",
    "code completion and synthesis": "synthesis",
    "bug fixes": "bugfix",
    "multi-file edits": "edit",
    "writing tests": "test_writing",
    "JSON / structured output": "structured_output",
}


def gateway_policy(categories: dict[str, dict]) -> list[dict]:
    """Per request class: local when the category's pass@1 lower bound reaches ``LOCAL_MIN``,
    cloud otherwise (also when the category was not measured)."""
    rows = []
    for request, cat in REQUEST_KINDS.items():
        r = categories.get(cat)
        if r is None or not r.get("n"):
            rows.append({"request": request, "category": cat, "where": "cloud",
                         "why": f"{cat} was not measured (skipped or not run; see the notes)"})
            continue
        where = "local" if r["low"] >= LOCAL_MIN else "cloud"
        cmp = ">=" if where == "local" else "<"
        rows.append({"request": request, "category": cat, "where": where,
                     "why": f"{cat} pass@1 {r['rate'] * 100:.0f}% (95% CI {r['low'] * 100:.0f}-{r['high'] * 100:.0f}%, "
                            f"{r['passed']}/{r['n']}); lower bound {cmp} {LOCAL_MIN * 100:.0f}%: {where}"})
    return rows
