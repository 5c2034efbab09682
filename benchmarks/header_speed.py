"""How fast inhouse reads GGUF headers: in-process, and `inhouse models` / `inhouse fit` as whole
processes, cold (fresh store, file pages evicted) and warm (the store's header cache).

    python benchmarks/header_speed.py              # 5 runs of each, 20 synthetic GGUFs
    python benchmarks/header_speed.py --runs 3 --reference --json out.json

The 20 GGUFs are synthetic (``plan/synthetic``: a catalog model's header with its data as a
sparse hole, 1.5B to 32B shapes) with a vocabulary of the model's real size written into the
header as real files have it (tokens, token types, and merges or scores), so the header is as
long as the real one. ``inhouse models`` also lists the two PyPI models, so it reads 22 headers.
Cold: a fresh INHOUSE_HOME (empty store) and each file's pages evicted from the page cache
(``posix_fadvise(DONTNEED)``, and ``/proc/sys/vm/drop_caches`` when writable, which drops
Python's modules too: the output says which). Warm: the same command again (the store's
cache). Python modules are compiled once first (.pyc), as an install has them. Each figure is
the median of ``--runs``, as wall-clock time and as the process's CPU time (user + system), which
a busy machine stretches much less.
``--reference`` also times ``gguf.GGUFReader`` (what inhouse used before) once on the same file.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MODELS = ["qwen2.5-coder-1.5b", "qwen2.5-coder-3b", "qwen2.5-coder-7b", "qwen2.5-coder-14b", "qwen2.5-coder-32b",
          "qwen3-4b", "qwen3-8b", "qwen3-14b", "qwen3-32b", "qwen3-coder-30b-a3b", "devstral-small",
          "codestral-22b", "gpt-oss-20b", "deepseek-coder-v2-lite", "deepseek-coder-6.7b", "gemma-3-4b",
          "gemma-3-12b", "gemma-3-27b", "starcoder2-7b", "starcoder2-15b"]
TARGETS = {"header_read_ms": 150, "models_cold_s": 3.0, "models_warm_s": 0.5, "fit_s": 1.0}


def write_with_vocabulary(model_id: str, path: Path) -> Path:
    """``plan.synthetic.write_synthetic_gguf`` plus a full-size tokenizer vocabulary in the header."""
    from gguf import GGMLQuantizationType as T, GGUFValueType as V, GGUFWriter

    from inhouse.plan.catalog import find
    from inhouse.plan.kv import pad
    from inhouse.plan.synthetic import ALIGNMENT, add_metadata, with_tensors

    model = find(model_id)
    scheme = model.quants[0]
    spec = with_tensors(model.spec(scheme), scheme)
    tmp = path.with_name(path.name + ".part")
    w = GGUFWriter(tmp, spec.architecture)
    add_metadata(w, spec)
    w.add_string("general.name", f"synthetic {model_id}")
    w.add_string("tokenizer.ggml.model", "llama" if spec.architecture.startswith("gemma") else "gpt2")
    n = spec.n_vocab
    w.add_key_value("tokenizer.ggml.tokens", [f"tok{i:x}" for i in range(n)], V.ARRAY, V.STRING)
    w.add_key_value("tokenizer.ggml.token_type", [1] * n, V.ARRAY, V.INT32)
    if spec.architecture.startswith("gemma"):
        w.add_key_value("tokenizer.ggml.scores", [0.0] * n, V.ARRAY, V.FLOAT32)
    else:
        w.add_key_value("tokenizer.ggml.merges", [f"t{i:x} k{i:x}" for i in range(n)], V.ARRAY, V.STRING)
    w.add_chat_template("{% for m in messages %}{{ m.content }}{% endfor %}")
    data_bytes = 0
    for name, shape in spec.tensor_shapes.items():
        nbytes = spec.tensor_bytes[name]
        byte_shape = list(reversed(shape[1:])) + [nbytes // max(1, int(np.prod(shape[1:])))]
        w.add_tensor_info(name, byte_shape, np.dtype(np.uint8), nbytes, raw_dtype=T[spec.tensor_types[name]])
        data_bytes += pad(nbytes, ALIGNMENT)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    w.close()
    os.truncate(tmp, pad(tmp.stat().st_size, ALIGNMENT) + data_bytes)
    tmp.replace(path)
    return path


def evict(paths: list[Path]) -> str:
    """Drop these files' pages from the page cache; say how."""
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as fh:
            fh.write("1\n")
        return "drop_caches"
    except OSError:
        return "posix_fadvise"


def run_cli(args: list[str], home: Path, user_home: Path) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system) of one ``inhouse`` process."""
    env = {**os.environ, "INHOUSE_HOME": str(home), "HOME": str(user_home)}
    # as installed: modules compiled once (.pyc), not on every start
    for var in ("INHOUSE_MODEL_DIRS", "OLLAMA_MODELS", "HF_HOME", "HF_HUB_CACHE", "PYTHONDONTWRITEBYTECODE"):
        env.pop(var, None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "inhouse", *args], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"inhouse {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def cold_warm(args: list[str], runs: int, work: Path, models_dir: Path, files: list[Path]) -> dict:
    cold, warm, how = [], [], ""
    user_home = work / "user-home"
    user_home.mkdir(exist_ok=True)
    for i in range(runs):
        home = Path(tempfile.mkdtemp(dir=work, prefix="home-"))
        (home / "models").symlink_to(models_dir, target_is_directory=True)
        how = evict(files)
        cold.append(run_cli(args, home, user_home))
        warm.append(run_cli(args, home, user_home))
    return {"cold_s": statistics.median(w for w, _ in cold), "warm_s": statistics.median(w for w, _ in warm),
            "cold_cpu_s": statistics.median(c for _, c in cold), "warm_cpu_s": statistics.median(c for _, c in warm),
            "cold_runs_s": [w for w, _ in cold], "warm_runs_s": [w for w, _ in warm], "eviction": how}


def show(res: dict) -> str:
    return (f"cold {res['cold_s']:.2f} s (CPU {res['cold_cpu_s']:.2f} s), "
            f"warm {res['warm_s']:.2f} s (CPU {res['warm_cpu_s']:.2f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--models", type=int, default=len(MODELS), help="How many synthetic GGUFs (at most 20).")
    ap.add_argument("--reference", action="store_true", help="Also time gguf.GGUFReader once.")
    ap.add_argument("--json", type=Path, help="Also write the figures here.")
    args = ap.parse_args()

    from inhouse.models.defaults import PYPI_MODELS
    from inhouse.models.gguf_header import read_header

    out: dict = {"runs": args.runs}
    with tempfile.TemporaryDirectory(prefix="header-speed-") as tmp:
        work = Path(tmp)
        models_dir = work / "inhouse-models"  # where the Gemma file is assembled once, shared by every home
        models_dir.mkdir()
        os.environ["INHOUSE_HOME"] = str(work / "setup-home")
        (work / "setup-home").mkdir()
        (work / "setup-home" / "models").symlink_to(models_dir, target_is_directory=True)
        gemma = PYPI_MODELS["gemma-3-270m"].locate()
        pypi = [p.locate() for p in PYPI_MODELS.values()]

        # 1. one header read in-process: the 262k-token vocabulary of Gemma 3 270M
        cold, warm, cpu = [], [], []
        for _ in range(args.runs):
            how = evict([gemma])
            t, c = time.perf_counter(), time.process_time()
            header = read_header(gemma)
            cold.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            t = time.perf_counter()
            read_header(gemma)
            warm.append(time.perf_counter() - t)
        n_vocab = header.fields["tokenizer.ggml.tokens"]["array_length"]
        out["header_read"] = {"file": str(gemma), "n_vocab": n_vocab, "cold_ms": statistics.median(cold) * 1e3,
                              "cold_cpu_ms": statistics.median(cpu) * 1e3, "warm_ms": statistics.median(warm) * 1e3,
                              "eviction": how}
        print(f"header read, gemma-3-270m ({n_vocab}-token vocabulary, {len(header.tensors)} tensors), in-process: "
              f"cold {out['header_read']['cold_ms']:.1f} ms (CPU {out['header_read']['cold_cpu_ms']:.1f} ms), "
              f"warm {out['header_read']['warm_ms']:.1f} ms (median of {args.runs}; target <= "
              f"{TARGETS['header_read_ms']} ms cold)")
        if args.reference:
            from gguf import GGUFReader

            evict([gemma])
            t = time.perf_counter()
            GGUFReader(gemma)
            out["header_read"]["gguf_reader_s"] = time.perf_counter() - t
            print(f"  gguf.GGUFReader on the same file, once: {out['header_read']['gguf_reader_s']:.2f} s")

        # 2. twenty synthetic GGUFs with full-size vocabularies
        folder = work / "ggufs"
        folder.mkdir()
        t = time.perf_counter()
        files = [write_with_vocabulary(m, folder / f"{m}.gguf") for m in MODELS[:args.models]]
        vocab = sorted({read_header(f).fields["tokenizer.ggml.tokens"]["array_length"] for f in files})
        print(f"wrote {len(files)} synthetic GGUFs ({vocab[0]}-{vocab[-1]}-token vocabularies, "
              f"{sum(f.stat().st_size for f in files) / 2**30:.0f} GiB apparent) in {time.perf_counter() - t:.0f} s")
        time.sleep(2.2)  # older than the cache's racy window (header_cache.RACY_WINDOW_NS)
        cold_warm(["models", "--dir", str(folder)], 1, work, models_dir, [])  # untimed: writes .pyc files

        res = cold_warm(["models", "--dir", str(folder)], args.runs, work, models_dir, files + pypi)
        out["models"] = {"n_files": len(files) + len(pypi), **res}
        print(f"inhouse models --dir (the {len(files)} + {len(pypi)} PyPI GGUFs), whole process: "
              f"{show(res)} (median of {args.runs}; targets <= "
              f"{TARGETS['models_cold_s']} s cold, <= {TARGETS['models_warm_s']} s warm)")

        out["fit"] = {}
        for label, model_args in [("gemma-3-270m", ["gemma-3-270m"]),
                                  ("synthetic qwen3-coder-30b-a3b", [str(folder / "qwen3-coder-30b-a3b.gguf")])]:
            target = [gemma] if label.startswith("gemma") else [folder / "qwen3-coder-30b-a3b.gguf"]
            if not target[0].exists():
                continue
            res = cold_warm(["fit", *model_args, "--ctx", "8192"], args.runs, work, models_dir, target)
            out["fit"][label] = res
            print(f"inhouse fit {label} --ctx 8192, whole process: {show(res)} "
                  f"(median of {args.runs}; target <= {TARGETS['fit_s']} s)")
        res = cold_warm(["--version"], args.runs, work, models_dir, [])
        out["python_and_cli_start_s"] = res["warm_s"]
        print(f"  for scale: `inhouse --version` takes {res['warm_s']:.2f} s here (CPU {res['warm_cpu_s']:.2f} s)")
        print(f"  load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (wall-clock figures "
              "stretch with it; CPU figures much less)")
        print(f"page cache: {'dropped through /proc/sys/vm/drop_caches' if how == 'drop_caches' else 'evicted per file with posix_fadvise(DONTNEED) (drop_caches not writable)'}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
