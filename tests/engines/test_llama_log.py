"""llama.cpp's log goes through inhouse's logger at its true level, and not to stderr."""

from __future__ import annotations

import logging


def test_llama_cpp_warnings_reach_the_logger_not_stderr(smollm2_path, capfd, caplog):
    from llama_cpp import Llama

    from inhouse.engines._llama_log import install

    install()
    capfd.readouterr()
    with caplog.at_level(logging.DEBUG, logger="inhouse.llama_cpp"):
        # above SmolLM2's 8192-token training context: llama.cpp's LLAMA_LOG_WARN
        # "n_ctx_seq (8448) > n_ctx_train (8192) -- possible training context overflow"
        llm = Llama(model_path=str(smollm2_path), n_ctx=8448, n_batch=64, n_ubatch=64, verbose=False)
        llm.close()
    out, err = capfd.readouterr()
    assert err == "" and out == ""
    warnings = [r for r in caplog.records if "training context overflow" in r.getMessage()]
    assert warnings and all(r.levelno == logging.WARNING for r in warnings)
    infos = [r for r in caplog.records if r.getMessage().startswith("llama_context: n_ctx ")]
    assert infos and all(r.levelno == logging.INFO for r in infos)
