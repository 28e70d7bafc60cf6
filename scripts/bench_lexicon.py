#!/usr/bin/env python3
"""`zen lexicon` next to scripts/lexicon.py (the same algorithm in plain Python), in one run, on the
same corpus and machine: seconds of each, the ratio, and whether the two files are the same lines.

    swift build -c release
    python3 scripts/bench_lexicon.py [--corpus FILE] [--min-pmi X] [--min-count N] [--repeats 3]

zen runs `--repeats` times (the fastest counts); the Python implementation, which takes tens of
seconds, once. Both are timed as whole processes, loading the vocabulary included: wall-clock
seconds, and CPU seconds (user + system, all threads), which a busy machine disturbs less.
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command):
    """Wall-clock seconds, CPU seconds and the last line of standard error of one run."""
    start, cpu = time.perf_counter(), cpu_seconds()
    run = subprocess.run(command, capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    if run.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{run.stderr}")
    return seconds, cpu, run.stderr.strip().splitlines()[-1]


def cpu_model():
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=os.path.join(SHARED, "data/corpus/pretrain.txt"))
    parser.add_argument("--vocab", default=os.path.join(SHARED, "data/bert-base-chinese-vocab.txt"))
    parser.add_argument("--min-pmi", default="2.0")
    parser.add_argument("--min-count", default="3")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--zen", default=os.path.join(ROOT, ".build/release/zen"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        options = ["--corpus", args.corpus, "--vocab", args.vocab, "--min-pmi", args.min_pmi, "--min-count", args.min_count]
        zen_output, python_output = os.path.join(directory, "zen.txt"), os.path.join(directory, "python.txt")
        zen_runs = [timed([args.zen, "lexicon", *options, "--output", zen_output]) for _ in range(args.repeats)]
        zen_seconds, zen_cpu, zen_summary = min(zen_runs)
        python_seconds, python_cpu, python_summary = timed([sys.executable, os.path.join(ROOT, "scripts/lexicon.py"), *options,
                                                "--output", python_output])
        zen_lines = open(zen_output, encoding="utf-8").read().splitlines()
        python_lines = open(python_output, encoding="utf-8").read().splitlines()

    print(f"{cpu_model()}, {os.cpu_count()} cores; corpus {args.corpus} ({os.path.getsize(args.corpus):,} bytes); "
          f"--min-pmi {args.min_pmi} --min-count {args.min_count}")
    print(f"  {zen_summary}")
    print(f"  {python_summary}")
    print()
    print("| implementation | seconds | speed-up | CPU seconds | CPU ratio | n-grams |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| scripts/lexicon.py (Python {sys.version.split()[0]}, one thread) | {python_seconds:.2f} | 1.0x | "
          f"{python_cpu:.2f} | 1.0x | {len(python_lines):,} |")
    print(f"| zen lexicon (release, {os.cpu_count()} threads), fastest of {args.repeats} | {zen_seconds:.2f} | "
          f"{python_seconds / zen_seconds:.1f}x | {zen_cpu:.2f} | {python_cpu / zen_cpu:.1f}x | {len(zen_lines):,} |")
    print()
    if zen_lines != python_lines:
        differing = sum(a != b for a, b in zip(zen_lines, python_lines)) + abs(len(zen_lines) - len(python_lines))
        first = next((i for i, (a, b) in enumerate(zip(zen_lines, python_lines)) if a != b), min(len(zen_lines), len(python_lines)))
        print(f"the outputs differ: {differing} lines, first at line {first + 1}: "
              f"zen {zen_lines[first:first + 1]} python {python_lines[first:first + 1]}")
        return 1
    print(f"the outputs are identical ({len(zen_lines):,} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
