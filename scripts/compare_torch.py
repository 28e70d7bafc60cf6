#!/usr/bin/env python3
"""zen next to PyTorch, in one run: ZEN 2.0 inference throughput, latency, load time and peak memory
on the same checkpoint and the same synthetic batches, plus numpy's OpenBLAS sgemm GFLOP/s; OpenVINO (the
same PyTorch model exported to ONNX) beside PyTorch, and each zen precision (fp32, bf16, int8) next to
its PyTorch and OpenVINO counterparts (bf16 autocast, torch.ao dynamic int8; OpenVINO's bf16 hint and
its NNCF int8).

    swift build -c release
    python3 scripts/compare_torch.py [--model DIR] [--scenarios fp32,padded,bf16,int8,latency,load,rss]
                                     [--iterations 5] [--repeats 3] [--threads T] [--only torch|openvino|zen]
                                     [--json OUT]

The PyTorch and OpenVINO sides are scripts/zen2_torch.py bench (--backend torch|openvino; OpenVINO's
load time includes the export and compilation), the zen side .build/release/zen bench; all build the
batch of zen2_torch.synthetic_batch (max_seq_length 128, 20 n-grams) and print one JSON line. Without
--model a random checkpoint of the 668M release shape is written to /tmp/zen-large (both formats)
unless it exists.

Every bench runs in a process of its own, one after another, so its RSS and load time are its own;
the weights are read once first so every load starts from a warm page cache. One process can differ
from the next by up to ~20% while the batches within one agree to a few percent, so every bench
runs in --repeats processes, in interleaved rounds (every run once, then again), and the table gives
the median over them and their spread, (max - min) / median.

Load time runs from the start of loading to the end of the first prediction; the load rows use
batch 1, where both benches predict the same single sequence first.

Each row sets zen against one peer (PyTorch, OpenVINO, or zen in another precision). The table's
"zen advantage" column is zen/peer for throughput (seq/s, GFLOP/s), peer/zen for latency, load time
and RSS, so above 1 means zen is better. "busy elsewhere" is the share of
the machine's CPU time that other processes took during each side's run: the noise on a shared box.
A run that fails (say OpenVINO not installed) shows "failed" and the rest of the table still comes.
--json saves every process's own numbers.
"""
import argparse
import datetime
import json
import os
import platform
import resource
import statistics
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

# scenario: rows of (title, peer run, zen run, metrics); a run is (program, precision, batch, real_length,
# weights), program "torch" (scripts/zen2_torch.py), "openvino" (the same model exported to ONNX, run by
# OpenVINO) or "zen", weights None for the default file (model.safetensors if present). Equal runs share
# their processes.
def row(title, peer, zen, metrics=SPEED):
    return (title, peer, ("zen",) + zen, metrics)


SCENARIOS = {
    "fp32": [row("fp32, batch 8, R64", ("torch", "fp32", 8, 64, None), ("fp32", 8, 64, None)),
             row("fp32 vs OpenVINO f32, batch 8, R64", ("openvino", "fp32", 8, 64, None), ("fp32", 8, 64, None))],
    "padded": [row("fp32, batch 8, R128 (no padding)", ("torch", "fp32", 8, 128, None), ("fp32", 8, 128, None))],
    "bf16": [
        row("zen bf16 vs torch fp32, batch 8, R64", ("torch", "fp32", 8, 64, None), ("bf16", 8, 64, None)),
        row("zen bf16 vs torch bf16 autocast, batch 8, R64", ("torch", "bf16", 8, 64, None), ("bf16", 8, 64, None)),
        row("zen bf16 vs OpenVINO bf16, batch 8, R64", ("openvino", "bf16", 8, 64, None), ("bf16", 8, 64, None)),
    ],
    "int8": [
        row("zen int8 vs torch.ao dynamic int8, batch 8, R64", ("torch", "int8", 8, 64, None), ("int8", 8, 64, None)),
        row("zen int8 vs OpenVINO int8 (NNCF), batch 8, R64", ("openvino", "int8", 8, 64, None), ("int8", 8, 64, None)),
        row("zen int8 vs zen bf16, batch 8, R64", ("zen", "bf16", 8, 64, None), ("int8", 8, 64, None)),
    ],
    "latency": [row("fp32, batch 1, R64", ("torch", "fp32", 1, 64, None), ("fp32", 1, 64, None), ["batch_ms_p50", "batch_ms_p90"]),
                row("bf16, batch 1, R64 (torch: autocast)", ("torch", "bf16", 1, 64, None), ("bf16", 1, 64, None),
                    ["batch_ms_p50", "batch_ms_p90"])],
    "load": [
        row("from model.safetensors, batch 1", ("torch", "fp32", 1, 64, "safetensors"), ("fp32", 1, 64, "safetensors"), ["load_s"]),
        row("from pytorch_model.bin, batch 1", ("torch", "fp32", 1, 64, "bin"), ("fp32", 1, 64, "bin"), ["load_s"]),
    ],
    "rss": [
        row("fp32, batch 8, R64", ("torch", "fp32", 8, 64, None), ("fp32", 8, 64, None), ["peak_rss_mb"]),
        row("from model.safetensors, batch 1", ("torch", "fp32", 1, 64, "safetensors"), ("fp32", 1, 64, "safetensors"),
            ["peak_rss_mb"]),
        row("from pytorch_model.bin, batch 1", ("torch", "fp32", 1, 64, "bin"), ("fp32", 1, 64, "bin"), ["peak_rss_mb"]),
        row("bf16, batch 8, R64 (torch: autocast)", ("torch", "bf16", 8, 64, None), ("bf16", 8, 64, None), ["peak_rss_mb"]),
    ],
}
PROGRAMS = {"torch": "PyTorch", "openvino": "OpenVINO", "zen": "zen"}

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
    """Runs a command that prints one JSON line last; returns (that object, or None when the command
    fails, the share of the machine's CPU time that other processes used meanwhile)."""
    before, children = cpu_jiffies(), resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    after, children_after = cpu_jiffies(), resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        print(f"failed ({done.returncode}): {' '.join(command)}\n{done.stderr[-2000:]}", file=sys.stderr)
    own = (children_after.ru_utime + children_after.ru_stime - children.ru_utime - children.ru_stime) \
        * os.sysconf("SC_CLK_TCK")
    busy, total = after[0] - before[0], after[1] - before[1]
    elsewhere = max(0.0, (busy - own) / total) if total else 0.0
    return json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else None, elsewhere


def bench(directory, run, iterations, threads):
    """One program's bench result for a run, with busy_elsewhere added; None when it failed."""
    program, precision, batch, real_length, _ = run
    command = [ZEN] if program == "zen" else [sys.executable, TORCH_BENCH]
    result, elsewhere = run_json(command + [
        "bench", "--model", directory, "--batch", str(batch), "--max-seq-length", str(MAX_SEQ_LENGTH),
        "--real-length", str(real_length), "--ngrams", str(NGRAMS), "--iterations", str(iterations),
        "--threads", str(threads), "--precision", precision] + (["--backend", program] if program != "zen" else []))
    if result is None:
        return None
    result["busy_elsewhere"] = elsewhere
    print(f"  {program:8} {precision} batch {batch} R{real_length} {os.path.basename(directory)}: "
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
    lscpu = dict(line.split(":", 1) for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout
                 .splitlines() if ":" in line)
    flags = lscpu.get("Flags", "").split()
    isa = [name for name in ("avx2", "avx_vnni", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_bf16",
                             "amx_int8") if name in flags]
    with open("/proc/meminfo") as f:
        memory = int(f.readline().split()[1]) / 2**20
    return f"{lscpu.get('Model name', '?').strip()}, {os.cpu_count()} cores, {memory:.0f} GiB, {' '.join(isa)}"


def versions(sgemm, zen):
    import numpy
    import torch
    try:
        import openvino
        openvino_version = f", OpenVINO {openvino.get_version()}"
    except ImportError:
        openvino_version = ", no OpenVINO (pip install openvino nncf onnx)"
    zen_commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip()
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    blas = sgemm["blas"] + (f" (OPENBLAS_CORETYPE={coretype})" if coretype else "")
    return (f"Python {platform.python_version()}, torch {torch.__version__} "
            f"({torch.backends.cpu.get_cpu_capability()}){openvino_version}, numpy {numpy.__version__} with {blas}, "
            f"zen at {zen_commit}" + (f" ({zen['engine']}, isa {zen['isa']})" if "engine" in zen else ""))


def resolve(run, default):
    """The run with its weights named: None becomes the default file."""
    return run[:4] + (run[4] or default,)


def table_rows(scenarios, results, default):
    """(scenario, metric, peer, peer's number, zen, advantage, spread, busy elsewhere) for every selected
    row, from each run's list of per-process results; a run that was not made shows "—", one that
    failed (in any process) "failed"."""
    rows = []
    for scenario in scenarios:
        for title, peer_run, zen_run, metrics in SCENARIOS[scenario]:
            keys = [resolve(peer_run, default), resolve(zen_run, default)]
            measured = [results.get(key) for key in keys]
            measured = [runs if runs and None not in runs else None for runs in measured]
            missing = ["failed" if key in results else "—" for key in keys]
            peer = f"{PROGRAMS[peer_run[0]]} {peer_run[1]}"
            for metric in metrics:
                label, form, higher = METRICS[metric]
                values = [statistics.median(r[metric] for r in runs) if runs else None for runs in measured]
                cells = [form.format(v) if runs else m for v, runs, m in zip(values, measured, missing)]
                t, z = values
                advantage = f"{(z / t if higher else t / z):.2f}×" if t and z else "—"
                spread = " / ".join(
                    f"{(max(r[metric] for r in runs) - min(r[metric] for r in runs)) / v:.0%}" if runs else m
                    for v, runs, m in zip(values, measured, missing))
                busy = " / ".join(f"{max(r['busy_elsewhere'] for r in runs):.0%}" if runs else m
                                  for runs, m in zip(measured, missing))
                rows.append((f"{scenario}: {title}", label, peer, cells[0], cells[1], advantage, spread, busy))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help=f"checkpoint directory (default: a random large one in {DEFAULT_MODEL})")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help="comma-separated, from: " + ", ".join(SCENARIOS))
    parser.add_argument("--iterations", type=int, default=5, help="timed batches per bench, after one warm-up")
    parser.add_argument("--repeats", type=int, default=3, help="processes per bench, interleaved; medians reported")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="compute threads of both sides")
    parser.add_argument("--only", choices=list(PROGRAMS), help="run one program only")
    parser.add_argument("--json", help="also write the raw results here")
    a = parser.parse_args()
    scenarios = a.scenarios.split(",")
    if unknown := set(scenarios) - set(SCENARIOS):
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    programs = [a.only] if a.only else list(PROGRAMS)
    if "zen" in programs and not os.path.exists(ZEN):
        sys.exit(f"{ZEN} is missing: run `swift build -c release` in {ROOT}")
    model = a.model or DEFAULT_MODEL
    if not a.model and not os.path.exists(os.path.join(model, "config.json")):
        subprocess.run([sys.executable, os.path.join(SHARED, "tools", "make_checkpoint.py"), model,
                        "--size", "large", "--format", "both"], check=True)
    with open(os.path.join(model, "config.json")) as f:
        config = json.load(f)

    sgemm, sgemm_elsewhere = run_json([sys.executable, "-c", SGEMM, str(a.threads)],
                                      env=dict(os.environ, OPENBLAS_NUM_THREADS=str(a.threads)))
    if sgemm is None:
        sys.exit("the numpy sgemm measurement failed")
    results = {}
    with tempfile.TemporaryDirectory() as root:
        views = weight_views(model, root)
        default = "safetensors" if "safetensors" in views else "bin"
        warm_page_cache(os.path.join(model, WEIGHTS[kind]) for kind in views)
        for scenario in scenarios:
            for _, peer_run, zen_run, _ in SCENARIOS[scenario]:
                for run in (resolve(peer_run, default), resolve(zen_run, default)):
                    if run[0] in programs and run[4] in views:
                        results[run] = []
        for _ in range(a.repeats):
            for run, runs in results.items():
                runs.append(bench(views[run[4]], run, a.iterations, a.threads))

    rows = table_rows(scenarios, results, default)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    zen_sgemm = sorted(r["sgemm_gflops"] for run, runs in results.items() if run[0] == "zen" for r in runs if r)
    zen = next((r for run, runs in results.items() if run[0] == "zen" for r in runs if r), {})
    host, software = machine(), versions(sgemm, zen)
    lines = [
        f"# ZEN 2.0 inference: zen vs PyTorch ({now})",
        "",
        f"- machine: {host}",
        f"- versions: {software}",
        f"- OpenBLAS sgemm 2048×2048 fp32, {a.threads} threads: numpy {sgemm['gflops']:.1f} GFLOP/s "
        f"({sgemm['blas_config'].strip()}; busy elsewhere {sgemm_elsewhere:.0%})"
        + (f"; zen bench's own {zen_sgemm[len(zen_sgemm) // 2]:.1f} GFLOP/s (median of its runs)" if zen_sgemm else ""),
        f"- checkpoint: {model} (H {config['hidden_size']}, {config['num_hidden_layers']}+"
        f"{config['num_hidden_word_layers']} layers, word_size {config['word_size']}); synthetic batches of "
        f"max_seq_length {MAX_SEQ_LENGTH} with R real tokens and {NGRAMS} n-grams; {a.threads} threads; each number "
        f"the median over {a.repeats} processes (interleaved), each timing {a.iterations} batches after a warm-up; "
        f"loads from a warm page cache",
        "- PyTorch runs every sequence padded to max_seq_length, as the reference pipelines do; zen at its real "
        "length. GFLOP/s is each side's own count of the work it does, so its ratio compares how well each uses "
        "the CPU; sequences/s and latency compare the answers per second.",
        "",
        "| scenario | metric | peer | peer's | zen | zen advantage | spread (peer / zen) | busy elsewhere (peer / zen) |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    print("\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows]))
    if a.json:
        with open(a.json, "w") as f:
            runs = [{"program": run[0], "precision": run[1], "batch": run[2], "max_seq_length": MAX_SEQ_LENGTH,
                     "real_length": run[3], "ngrams": NGRAMS, "weights": run[4],
                     "processes": [r or {"failed": True} for r in processes]}
                    for run, processes in results.items()]
            columns = ["scenario", "metric", "peer", "peer_value", "zen", "zen_advantage", "spread", "busy_elsewhere"]
            json.dump({"date": now, "machine": host, "versions": software, "sgemm": sgemm, "threads": a.threads,
                       "iterations": a.iterations, "repeats": a.repeats, "model": model, "runs": runs,
                       "rows": [dict(zip(columns, row)) for row in rows]}, f, indent=2)


if __name__ == "__main__":
    main()
