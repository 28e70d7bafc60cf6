#!/usr/bin/env python3
"""Pre-training speed of `zen pretrain` next to the reference loop in PyTorch (zen2_pretrain_torch.py).

Both sides start from the same checkpoint (e.g. `zen init`'s hidden-256 model) and train on the
same instances in file order (--no-shuffle) with the same arithmetic: MLM + NSP loss, backward,
clip_grad_norm_(1.0), a LAMB step, the PolyWarmUp rate. Dropout is 0 on both. A checkpoint without
MLM/NSP heads (`zen init` writes none) gets them initialised by each side on its own (speed only:
the losses then differ). PyTorch runs with torch.set_num_threads(every core), zen with its own
threads. Each measurement is two processes, one of --warmup-steps steps and one of --warmup-steps
+ --steps steps, and instances/s = steps * batch / (difference of their wall times), so process
start, loading, the first (warm-up) steps and saving cancel out (after one untimed process per side, which warms
the disk cache). The sides alternate, --repeats
times each; medians are reported, with the CPU model and the thread count, as one JSON line.

    swift build -c release
    .build/release/zen init --output /tmp/small --vocab ../shared/data/bert-base-chinese-vocab.txt \\
        --ngrams ../shared/data/ngram/jieba-ngram.txt --ngram-limit 50000 --seed 42
    python3 scripts/bench_pretrain.py --model /tmp/small --instances instances.jsonl [--batch-size 32] \\
        [--max-seq-length 128] [--steps 10] [--warmup-steps 2] [--repeats 3] [--torch-only] [--make-instances N]

--instances is any file in the instances.jsonl form of ../shared/fixtures/training/tiny-pretrain/
(`zen pregenerate`'s output, at max_seq_length 128 for the real benchmark). --make-instances N first
writes N throwaway instances there (the file must not exist) with make_instances below: a benchmark
input generator, NOT the pregenerate algorithm of spec section 7. Without a zen binary that has a
`pretrain` command the benchmark says so and measures PyTorch only (as --torch-only does).
"""
import argparse
import json
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
ZEN = os.path.join(ROOT, ".build", "release", "zen")
TORCH_LOOP = os.path.join(ROOT, "scripts", "zen2_pretrain_torch.py")
NGRAM_SLOTS = 128


# -----------------------------------------------------------------------------
# throwaway benchmark instances


def read_vocabulary(path):
    with open(path, encoding="utf-8") as f:
        return {line.rstrip("\n"): i for i, line in enumerate(f)}


def read_lexicon(path):
    """{tuple of characters: (id, frequency)} from `word,frequency` lines, id = line number + 1,
    malformed lines skipped (their numbers used up), a later duplicate winning."""
    lexicon = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f):
            fields = line.strip().split(",")
            if len(fields) == 2 and fields[1].isdigit():
                lexicon[tuple(fields[0].lower())] = (number + 1, int(fields[1]))
    return lexicon


def make_instances(vocab, lexicon, lines, count, max_seq_length, rng, max_predictions=20):
    """`count` sentence-pair instances for timing, in the fixture's instances.jsonl form. Tokens are
    single characters (lower-cased, [UNK] when not in the vocabulary); B follows A (the next corpus
    line, label 0) or is a random line (label 1), half each; the longer of A and B loses characters
    from its end until the pair fits; 15% of the characters (at least 1, at most max_predictions)
    are chosen at random, each becoming [MASK] 80%, a random token 10%, itself 10%; the n-gram hits
    are every lexicon match of 2..7 masked tokens, sorted by id and capped as spec section 4 caps them."""
    tokens_of = {i: t for t, i in vocab.items()}
    unk, mask_id = vocab["[UNK]"], vocab["[MASK]"]
    texts = [[c.lower() for c in line if not c.isspace()] for line in lines]
    texts = [t for t in texts if t]
    if len(texts) < 2:
        raise SystemExit("bench_pretrain: error: the corpus has fewer than 2 non-empty lines")
    instances = []
    for _ in range(count):
        i = rng.randrange(len(texts) - 1)
        follows = rng.random() < 0.5
        a, b = list(texts[i]), list(texts[i + 1] if follows else texts[rng.randrange(len(texts))])
        while len(a) + len(b) > max_seq_length - 3:
            (a if len(a) >= len(b) else b).pop()
        tokens = ["[CLS]"] + a + ["[SEP]"] + b + ["[SEP]"]
        ids = [vocab.get(t, unk) for t in tokens]
        segments = [0] * (len(a) + 2) + [1] * (len(b) + 1)
        candidates = [p for p, t in enumerate(tokens) if t not in ("[CLS]", "[SEP]")]
        chosen = sorted(rng.sample(candidates, min(max_predictions, max(1, round(0.15 * len(candidates))), len(candidates))))
        originals = [ids[p] for p in chosen]
        for p in chosen:
            draw = rng.random()
            if draw < 0.8:
                ids[p] = mask_id
            elif draw < 0.9:
                ids[p] = rng.randrange(len(vocab))
        tokens = [tokens_of[i] for i in ids]
        hits = [(lexicon[key], q, n) for n in range(2, 8) for q in range(len(tokens) - n + 1)
                if (key := tuple(tokens[q:q + n])) in lexicon]
        hits.sort(key=lambda hit: hit[0][0])  # stable: equal ids keep the n-then-q order
        hits = hits[:math.ceil(len(tokens) / max_seq_length * NGRAM_SLOTS)]
        instances.append({
            "tokens": tokens, "input_ids": ids, "segment_ids": segments, "masked_lm_positions": chosen,
            "masked_lm_ids": originals, "next_sentence_label": 0 if follows else 1,
            "ngram_ids": [h[0][0] for h in hits], "ngram_starts": [h[1] for h in hits],
            "ngram_lengths": [h[2] for h in hits], "ngram_freqs": [h[0][1] for h in hits],
            "ngram_segment_ids": [segments[h[1]] for h in hits],
        })
    return instances


def write_instances(path, model, corpus, count, max_seq_length, seed):
    vocab = read_vocabulary(os.path.join(model, "vocab.txt"))
    lexicon = read_lexicon(os.path.join(model, "ngram.txt"))
    with open(corpus, encoding="utf-8") as f:
        lines = f.readlines()
    instances = make_instances(vocab, lexicon, lines, count, max_seq_length, random.Random(seed))
    with open(path, "x", encoding="utf-8") as f:
        for instance in instances:
            f.write(json.dumps(instance, ensure_ascii=False) + "\n")


# -----------------------------------------------------------------------------
# timing


def cpu_model():
    try:
        output = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        return next(line.split(":", 1)[1].strip() for line in output.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        return platform.processor() or "unknown"


def zen_has_pretrain():
    """Why zen cannot be measured (no binary, no `pretrain` command), or None when it can."""
    if not os.access(ZEN, os.X_OK):
        return f"{ZEN} is missing (swift build -c release)"
    # argument-parser answers `--help` after an unknown subcommand with the top-level help, status 0
    result = subprocess.run([ZEN, "pretrain", "--help"], capture_output=True, text=True)
    if result.returncode != 0 or "zen pretrain" not in result.stdout:
        return f"{ZEN} has no `pretrain` command yet"
    return None


def timed(command, what):
    """Wall seconds of a command that must succeed."""
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"bench_pretrain: error: {what} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    return seconds, result


def torch_seconds(a, steps, threads):
    seconds, result = timed([sys.executable, TORCH_LOOP, "--model", a.model, "--instances", a.instances,
                             "--batch-size", str(a.batch_size), "--learning-rate", str(a.learning_rate),
                             "--warmup-proportion", str(a.warmup_proportion), "--max-steps", str(steps),
                             "--max-seq-length", str(a.max_seq_length), "--no-shuffle", "--seed", str(a.seed),
                             "--dropout", "0", "--threads", str(threads)], "the PyTorch loop")
    ran = json.loads(result.stdout.strip().splitlines()[-1])["steps"]
    if ran != steps:
        raise SystemExit(f"bench_pretrain: error: the PyTorch loop ran {ran} steps, not {steps}")
    return seconds


def zen_seconds(a, steps, directory):
    output = tempfile.mkdtemp(prefix="zen-pretrain-", dir=directory)
    os.rmdir(output)  # zen pretrain creates it
    seconds, _ = timed([ZEN, "pretrain", "--model", a.model, "--instances", a.instances, "--output", output,
                        "--batch-size", str(a.batch_size), "--learning-rate", str(a.learning_rate),
                        "--warmup-proportion", str(a.warmup_proportion), "--max-steps", str(steps), "--no-shuffle",
                        "--seed", str(a.seed), "--dropout", "0"], "zen pretrain")
    with open(os.path.join(output, "train_log.jsonl"), encoding="utf-8") as f:
        ran = sum(1 for line in f if line.strip())
    shutil.rmtree(output)  # a model a run adds up over the repeats
    if ran != steps:
        raise SystemExit(f"bench_pretrain: error: zen pretrain logged {ran} steps, not {steps}")
    return seconds


def rate(a, seconds):
    """Instances/s of the --steps steps between a short and a long run: (short, long) seconds."""
    short, long = seconds
    return a.steps * a.batch_size / (long - short) if long > short else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="checkpoint directory, the same for both sides")
    parser.add_argument("--instances", required=True, help="instances.jsonl, the same for both sides")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per measurement (default 10)")
    parser.add_argument("--warmup-steps", type=int, default=2, help="untimed steps before them (default 2)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--warmup-proportion", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--torch-only", action="store_true", help="measure the PyTorch loop alone")
    parser.add_argument("--make-instances", type=int, metavar="N",
                        help="first write N throwaway benchmark instances to --instances (must not exist)")
    parser.add_argument("--corpus", default=os.path.join(SHARED, "data", "corpus", "pretrain.txt"),
                        help="text for --make-instances, one line a sentence")
    a = parser.parse_args()
    for option, value in (("--batch-size", a.batch_size), ("--steps", a.steps), ("--warmup-steps", a.warmup_steps),
                          ("--repeats", a.repeats), ("--make-instances", a.make_instances)):
        if value is not None and value < 1:
            parser.error(f"{option} is {value}; it must be at least 1")
    if a.make_instances:
        if os.path.exists(a.instances):
            parser.error(f"--instances {a.instances} exists; --make-instances writes a new file")
        write_instances(a.instances, a.model, a.corpus, a.make_instances, a.max_seq_length, a.seed)

    missing = "--torch-only was given" if a.torch_only else zen_has_pretrain()
    if missing:
        print(f"bench_pretrain: not measuring zen: {missing}; measuring PyTorch only", file=sys.stderr)
    threads = os.cpu_count()
    load_before = os.getloadavg()[0]  # other work on the machine skews both sides
    short, long = a.warmup_steps, a.warmup_steps + a.steps
    torch_runs, zen_runs = [], []
    with tempfile.TemporaryDirectory() as directory:
        # One untimed process per side first: the first start reads torch, the binary and the
        # data from disk, and a cold start in a short run made the short run the slower one.
        torch_seconds(a, short, threads)
        if not missing:
            zen_seconds(a, short, directory)
        for _ in range(a.repeats):
            torch_runs.append(rate(a, [torch_seconds(a, n, threads) for n in (short, long)]))
            if not missing:
                zen_runs.append(rate(a, [zen_seconds(a, n, directory) for n in (short, long)]))
    torch_median = statistics.median(torch_runs)
    zen_median = statistics.median(zen_runs) if zen_runs else None
    print(json.dumps({"batch_size": a.batch_size, "max_seq_length": a.max_seq_length, "steps": a.steps,
                      "warmup_steps": a.warmup_steps, "repeats": a.repeats, "cpu": cpu_model(), "threads": threads,
                      "load_average_before": load_before,
                      "torch_instances_per_s": torch_median, "zen_instances_per_s": zen_median,
                      "ratio": zen_median / torch_median if zen_median else None,
                      "torch_runs": torch_runs, "zen_runs": zen_runs, "torch_version": torch.__version__}))


if __name__ == "__main__":
    main()
