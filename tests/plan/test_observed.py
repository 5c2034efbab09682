"""llama.cpp's own buffer report, parsed; checked against the KV-cache arithmetic it must obey."""

from __future__ import annotations

from inhouse.plan.observed import MIB, observe_load, parse_buffer_log
from inhouse.plan.settings import LoadSettings


def test_parse_buffer_lines():
    obs = parse_buffer_log([
        "load_tensors:   CPU_Mapped model buffer size =    92.10 MiB",
        "load_tensors:   CPU_REPACK model buffer size =    10.50 MiB",
        "llama_kv_cache:        CPU KV buffer size =    45.00 MiB",
        "llama_kv_cache:        CPU KV buffer size =     5.00 MiB",  # the SWA half of an iSWA cache
        "llama_memory_recurrent:        CPU RS buffer size =     1.25 MiB",
        "llama_context:        CPU  output buffer size =     0.19 MiB",
        "sched_reserve:        CPU compute buffer size =    99.38 MiB",
        "~llama_context:        CPU compute buffer size is  99.3770 MiB, matches expectation",
    ])
    assert obs.weights_bytes == round(92.10 * MIB)
    assert obs.repack_bytes == round(10.50 * MIB)
    assert obs.kv_bytes == 50 * MIB
    assert obs.state_bytes == round(1.25 * MIB)
    assert obs.output_bytes == round(0.19 * MIB)
    assert obs.compute_bytes == round(99.38 * MIB)  # the destructor's line is not counted again
    # two KV lines were printed, each exact to 0.005 MiB
    assert obs.precision("kv_bytes") == round(2 * 0.005 * MIB) and obs.precision("repack_bytes") == round(0.005 * MIB)


def test_smollm2_kv_cache_is_what_the_arithmetic_says(smollm2_path):
    # SmolLM2-135M: 30 layers, 3 KV heads x 64 dims, f16 K and V: 2 bytes each.
    obs = observe_load(smollm2_path, LoadSettings(n_ctx=2048))
    assert obs.kv_bytes == 2048 * 30 * (3 * 64) * 2 * 2
    assert obs.weights_bytes > 80 * MIB and obs.compute_bytes > 0 and obs.output_bytes > 0
    obs_q8 = observe_load(smollm2_path, LoadSettings(n_ctx=2048, type_k="q8_0", type_v="q8_0", flash_attn=True))
    # q8_0 stores 32 values in 34 bytes; llama.cpp prints MiB with two decimals.
    assert abs(obs_q8.kv_bytes - 2048 * 30 * (3 * 64) * 34 // 32 * 2) <= 0.005 * MIB
