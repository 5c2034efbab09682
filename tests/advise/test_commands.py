import shlex
import tomllib

from inhouse.advise.commands import LOCAL_MIN, gateway_policy, llama_server_flags, ollama_modelfile, serve_config

REC = {"name": "smol", "path": "/models/my model.gguf", "quant": "Q8_0", "n_ctx": 8192, "threads": 2,
       "flash_attn": True, "cache_type": "q8_0", "n_ubatch": 128}


def _cat(passed, n, low, high):
    return {"passed": passed, "n": n, "rate": passed / n, "low": low, "high": high}


def test_llama_server_flags_carry_every_setting():
    argv = shlex.split(llama_server_flags(REC))
    assert argv[0] == "llama-server"
    pairs = dict(zip(argv[1::2], argv[2::2]))
    assert pairs["-m"] == "/models/my model.gguf" and pairs["-c"] == "8192" and pairs["-t"] == "2"
    assert pairs["--flash-attn"] == "on" and pairs["-ctk"] == pairs["-ctv"] == "q8_0" and pairs["-ub"] == "128"


def test_ollama_modelfile():
    text = ollama_modelfile(REC)
    assert text.splitlines()[0] == "FROM /models/my model.gguf"
    assert "PARAMETER num_ctx 8192" in text and "PARAMETER num_thread 2" in text
    assert "OLLAMA_KV_CACHE_TYPE=q8_0" in text and "OLLAMA_FLASH_ATTENTION=1" in text


def test_policy_local_only_where_the_lower_bound_reaches_the_bar():
    cats = {"agentic": _cat(7, 8, LOCAL_MIN + 0.01, 0.98), "tool_calling": _cat(5, 9, LOCAL_MIN - 0.3, 0.8)}
    rows = {p["category"]: p for p in gateway_policy(cats)}
    assert rows["agentic"]["where"] == "local"
    assert rows["tool_calling"]["where"] == "cloud"
    assert rows["synthesis"]["where"] == "cloud" and "not measured" in rows["synthesis"]["why"]
    assert "7/8" in rows["agentic"]["why"]


def test_serve_config_is_valid_toml_with_the_recommended_backend():
    cats = {"agentic": _cat(8, 8, 0.68, 1.0)}
    data = tomllib.loads(serve_config(REC, gateway_policy(cats)))
    local = data["backend"][0]
    assert local == {"name": "local", "kind": "local", "gguf": "/models/my model.gguf", "ctx": 8192,
                     "cache_type_k": "q8_0", "cache_type_v": "q8_0"}
    assert data["route"][0]["chain"] == ["local", "cloud"]
    rules = data["policy"]["rule"]
    assert [(r["when"], r["require"]["category"]) for r in rules] == [({"has_tools": True}, "agentic"),
                                                                     ({"has_tools": False}, "synthesis")]
    assert all(r["require"]["min"] == LOCAL_MIN and r["require"]["bound"] == "low" for r in rules)
    assert data["policy"]["backends"]["local"]["eval_model"] == "smol"
    nothing = tomllib.loads(serve_config(REC, gateway_policy({})))
    assert nothing["route"][0]["chain"] == ["cloud", "local"]


def test_serve_config_is_a_config_the_gateway_accepts():
    """Not only TOML: `inhouse serve --config` loads it (backends, route, policy rules)."""
    from inhouse.gateway.config import parse_config

    config = parse_config(serve_config(REC, gateway_policy({"agentic": _cat(8, 8, 0.68, 1.0)})), name="advise.toml")
    assert [b.name for b in config.backends] == ["local", "cloud"]
    assert [r.chain for r in config.routes] == [("local", "cloud")]
    from inhouse.gateway.policy import parse_policy

    policy = parse_policy(config.policy, config.backends)
    assert len(policy.rules) == 2
