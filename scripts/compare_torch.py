#!/usr/bin/env python3
"""zen next to PyTorch, in one run: ZEN 2.0 inference throughput, latency, load time and peak memory
on the same checkpoint and the same synthetic batches, plus numpy's OpenBLAS sgemm GFLOP/s.

    swift build -c release
    python3 scripts/compare_torch.py [--model DIR] [--scenarios fp32,padded,bf16,latency,load,rss]
                                     [--iterations 5] [--threads T] [--only torch|zen] [--json OUT]

The PyTorch side is scripts/zen2_torch.py bench, the zen side .build/release/zen bench; both build the
batch of zen2_torch.synthetic_batch (max_seq_length 128, 20 n-grams) and print one JSON line. Every
bench runs in a process of its own, one after another, so its RSS and load time are its own; the
weights are read once first so every load starts from a warm page cache. Without --model a random
checkpoint of the 668M release shape is written to /tmp/zen-large (both formats) unless it exists.

The table's last column is zen's advantage: zen/torch for throughput (seq/s, GFLOP/s), torch/zen
for latency, load time and RSS, so above 1 means zen is better. "busy elsewhere" is the share of
the machine's CPU time that other processes took during each side's run: the noise on a shared box.
"""
import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
ZEN = os.path.join(ROOT, ".build", "release", "zen")
TORCH_BENCH = os.path.join(ROOT, "scripts", "zen2_torch.py")
DEFAULT_MODEL = "/tmp/zen-large"
MAX_SEQ_LENGTH, NGRAMS = 128, 20
WEIGHTS = {"safetensors": "model.safetensors", "bin": "pytorch_model.bin"}

# metric: (label, format, True when higher is better)
METRICS = {
    "seq_per_s": ("sequences/s", "{:.2f}", True),
    "batch_ms_p50": ("batch ms, p50", "{:.0f}", False),
    "batch_ms_p90": ("batch ms, p90", "{:.0f}", False),
    "gflops": ("GFLOP/s", "{:.1f}", True),
    "load_s": ("load to first prediction, s", "{:.2f}", False),
    "peak_rss_mb": ("peak RSS, MB", "{:.0f}", False),
}
SPEED = ["seq_per_s", "batch_ms_p50", "batch_ms_p90", "gflops"]

# scenario: rows of (title, torch run, zen run, metrics); a run is (precision, batch, real_length, weights)
# with weights None for the default file (model.safetensors if present). Equal runs are run once.
SCENARIOS = {
    "fp32": [("fp32, batch 8, R64", ("fp32", 8, 64, None), ("fp32", 8, 64, None), SPEED)],
    "padded": [("fp32, batch 8, R128 (no padding)", ("fp32", 8, 128, None), ("fp32", 8, 128, None), SPEED)],
    "bf16": [
        ("zen bf16 vs torch fp32, batch 8, R64", ("fp32", 8, 64, None), ("bf16", 8, 64, None), SPEED),
        ("zen bf16 vs torch bf16 autocast, batch 8, R64", ("bf16", 8, 64, None), ("bf16", 8, 64, None), SPEED),
    ],
    "latency": [("latency, fp32, batch 1, R64", ("fp32", 1, 64, None), ("fp32", 1, 64, None),
                 ["batch_ms_p50", "batch_ms_p90"])],
    "load": [
        ("from model.safetensors, batch 1", ("fp32", 1, 64, "safetensors"), ("fp32", 1, 64, "safetensors"), ["load_s"]),
        ("from pytorch_model.bin, batch 1", ("fp32", 1, 64, "bin"), ("fp32", 1, 64, "bin"), ["load_s"]),
    ],
    "rss": [
        ("fp32, batch 8, R64", ("fp32", 8, 64, None), ("fp32", 8, 64, None), ["peak_rss_mb"]),
        ("from model.safetensors, batch 1", ("fp32", 1, 64, "safetensors"), ("fp32", 1, 64, "safetensors"),
         ["peak_rss_mb"]),
        ("from pytorch_model.bin, batch 1", ("fp32", 1, 64, "bin"), ("fp32", 1, 64, "bin"), ["peak_rss_mb"]),
    ],
}

SGEMM = r"""
import json, sys, time
import numpy as np
threads, n = int(sys.argv[1]), 2048
try:
    from threadpoolctl import threadpool_limits
    threadpool_limits(threads)
except ImportError:
    pass  # OPENBLAS_NUM_THREADS, set by the parent, already limits the threads
rng = np.random.default_rng(0)
a, b = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)
a @ b
times = []
for _ in range(10):
    start = time.perf_counter()
    a @ b
    times.append(time.perf_counter() - start)
blas = np.__config__.CONFIG["Build Dependencies"]["blas"]
print(json.dumps({"gflops": 2 * n**3 / sorted(times)[len(times) // 2] / 1e9,
                  "blas": f"{blas['name']} {blas['version']}", "blas_config": blas.get("openblas configuration", "")}))
"""


def cpu_jiffies():
    """(busy, total) jiffies of the whole machine so far: user nice system idle iowait irq softirq steal."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:9]]
    return sum(fields) - fields[3] - fields[4], sum(fields)


def run_json(command, env=None):
    """Runs a command that prints one JSON line last; returns (that object, the share of the machine's
    CPU time that other processes used meanwhile)."""
    before, children = cpu_jiffies(), resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    after, children_after = cpu_jiffies(), resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stderr[-4000:]}")
    own = (children_after.ru_utime + children_after.ru_stime - children.ru_utime - children.ru_stime) \
        * os.sysconf("SC_CLK_TCK")
    busy, total = after[0] - before[0], after[1] - before[1]
    elsewhere = max(0.0, (busy - own) / total) if total else 0.0
    return json.loads(done.stdout.strip().splitlines()[-1]), elsewhere


def bench(side, directory, run, iterations, threads):
    precision, batch, real_length, _ = run
    program = [sys.executable, TORCH_BENCH] if side == "torch" else [ZEN]
    result, elsewhere = run_json(program + [
        "bench", "--model", directory, "--batch", str(batch), "--max-seq-length", str(MAX_SEQ_LENGTH),
        "--real-length", str(real_length), "--ngrams", str(NGRAMS), "--iterations", str(iterations),
        "--threads", str(threads), "--precision", precision])
    result["busy_elsewhere"] = elsewhere
    print(f"  {side:5} {precision} batch {batch} R{real_length} {os.path.basename(directory)}: "
          f"{result['seq_per_s']:.2f} seq/s, p50 {result['batch_ms_p50']:.0f} ms, load {result['load_s']:.2f} s, "
          f"{result['peak_rss_mb']:.0f} MB, busy elsewhere {elsewhere:.0%}", file=sys.stderr)
    return result


def weight_views(model, root):
    """One directory per weights file present, holding links to it and to the text files, so that
    both sides load exactly that file."""
    views = {}
    for kind, name in WEIGHTS.items():
        if not os.path.exists(os.path.join(model, name)):
            continue
        view = os.path.join(root, kind)
        os.mkdir(view)
        for f in ("config.json", "vocab.txt", "ngram.txt", name):
            os.symlink(os.path.abspath(os.path.join(model, f)), os.path.join(view, f))
        views[kind] = view
    return views


def warm_page_cache(paths):
    for path in paths:
        with open(path, "rb") as f:
            while f.read(64 << 20):
                pass


def machine():
    model = next((line.split(":", 1)[1].strip() for line in subprocess.run(
        ["lscpu"], capture_output=True, text=True).stdout.splitlines() if line.startswith("Model name")), "?")
    with open("/proc/meminfo") as f:
        memory = int(f.readline().split()[1]) / 2**20
    return f"{model}, {os.cpu_count()} cores, {memory:.0f} GiB"


def versions(sgemm):
    import numpy
    import torch
    zen_commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip()
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    return (f"Python {platform.python_version()}, torch {torch.__version__} ({torch.backends.cpu.get_cpu_capability()}), "
            f"numpy {numpy.__version__} with {sgemm['blas']}" + (f" (OPENBLAS_CORETYPE={coretype})" if coretype else "")
            + f", zen at {zen_commit}")


def fmt(metric, value):
    return "—" if value is None else METRICS[metric][1].format(value)


def resolve(run, default):
    """The run with its weights named: None becomes the default file."""
    return run[:3] + (run[3] or default,)


def table_rows(scenarios, results, default):
    """(scenario, metric, torch, zen, advantage, busy elsewhere) for every selected row."""
    rows = []
    for scenario in scenarios:
        for title, torch_run, zen_run, metrics in SCENARIOS[scenario]:
            t, z = results.get(("torch", resolve(torch_run, default))), results.get(("zen", resolve(zen_run, default)))
            for metric in metrics:
                tv, zv = t and t[metric], z and z[metric]
                higher = METRICS[metric][2]
                advantage = f"{(zv / tv if higher else tv / zv):.2f}×" if tv and zv else "—"
                busy = " / ".join("—" if r is None else f"{r['busy_elsewhere']:.0%}" for r in (t, z))
                rows.append((f"{scenario}: {title}", METRICS[metric][0], fmt(metric, tv), fmt(metric, zv), advantage,
                             busy))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help=f"checkpoint directory (default: a random large one in {DEFAULT_MODEL})")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated, from: " + ", ".join(SCENARIOS))
    parser.add_argument("--iterations", type=int, default=5, help="timed batches per bench, after one warm-up")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--only", choices=["torch", "zen"], help="run one side only")
    parser.add_argument("--json", help="also write the raw results here")
    a = parser.parse_args()
    scenarios = a.scenarios.split(",")
    if unknown := set(scenarios) - set(SCENARIOS):
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    sides = [a.only] if a.only else ["torch", "zen"]
    if "zen" in sides and not os.path.exists(ZEN):
        sys.exit(f"{ZEN} is missing: run `swift build -c release` in {ROOT}")
    model = a.model or DEFAULT_MODEL
    if not a.model and not os.path.exists(os.path.join(model, "config.json")):
        subprocess.run([sys.executable, os.path.join(SHARED, "tools", "make_checkpoint.py"), model,
                        "--size", "large", "--format", "both"], check=True)
    with open(os.path.join(model, "config.json")) as f:
        config = json.load(f)

    sgemm, sgemm_elsewhere = run_json([sys.executable, "-c", SGEMM, str(a.threads)],
                        env=dict(os.environ, OPENBLAS_NUM_THREADS=str(a.threads)))
    results = {}
    with tempfile.TemporaryDirectory() as root:
        views = weight_views(model, root)
        default = "safetensors" if "safetensors" in views else "bin"
        warm_page_cache(os.path.join(model, WEIGHTS[kind]) for kind in views)
        for scenario in scenarios:
            for _, torch_run, zen_run, _ in SCENARIOS[scenario]:
                for side, run in zip(["torch", "zen"], [resolve(torch_run, default), resolve(zen_run, default)]):
                    if side in sides and (side, run) not in results and run[3] in views:
                        results[side, run] = bench(side, views[run[3]], run, a.iterations, a.threads)

    rows = table_rows(scenarios, results, default)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    host, software = machine(), versions(sgemm)
    header = [
        f"# ZEN 2.0 inference: zen vs PyTorch ({now})",
        "",
        f"- machine: {host}",
        f"- versions: {software}",
        f"- numpy OpenBLAS sgemm 2048×2048 fp32, {a.threads} threads: {sgemm['gflops']:.1f} GFLOP/s "
        f"({sgemm['blas_config']}; busy elsewhere {sgemm_elsewhere:.0%})",
        f"- checkpoint: {model} (H {config['hidden_size']}, {config['num_hidden_layers']}+"
        f"{config['num_hidden_word_layers']} layers, word_size {config['word_size']}); synthetic batches padded to "
        f"L {MAX_SEQ_LENGTH} with R real tokens and {NGRAMS} n-grams; {a.threads} threads; median of "
        f"{a.iterations} timed batches after one warm-up; load time from a warm page cache",
        "",
        "| scenario | metric | PyTorch | zen | zen advantage | busy elsewhere (torch / zen) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    print("\n".join(header + ["| " + " | ".join(row) + " |" for row in rows]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"date": now, "machine": host, "versions": software, "sgemm": sgemm,
                       "threads": a.threads, "iterations": a.iterations, "model": model,
                       "runs": [{"side": side, "precision": run[0], "batch": run[1], "max_seq_length": MAX_SEQ_LENGTH,
                                 "real_length": run[2], "ngrams": NGRAMS, "weights": run[3], **result}
                                for (side, run), result in results.items()],
                       "rows": [dict(zip(["scenario", "metric", "torch", "zen", "zen_advantage", "busy_elsewhere"], row))
                                for row in rows]}, f, indent=2)


if __name__ == "__main__":
    main()
