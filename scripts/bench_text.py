#!/usr/bin/env python3
"""Text-side benchmark: zen next to Hugging Face's tokenizers, in one run, on the same data.

Measures, on ../shared/data/sentiment/train.json by default:
  - loading the vocabulary plus the n-gram lexicon: zen, and the reference's ZenNgramDict logic;
  - texts per second of tokenization: transformers' BertTokenizer (pure Python, what the ZEN 2.0
    reference uses; transformers<5), BertTokenizerFast (Rust `tokenizers`), and zen;
  - texts per second of full features (tokens + n-gram hits + fusion matrix): the reference's
    pipeline (its n-gram code over the pure-Python tokenizer, numpy for the matrix) and zen;
  - agreement: zen's token ids, n-gram hits and matrix equal the reference pipeline's on every text.

    pip install "transformers<5"
    swift build -c release
    python3 scripts/bench_text.py
"""
import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")


def best_rate(texts, fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn(texts)
        best = min(best, time.perf_counter() - start)
    return len(texts) / best


class ReferenceFeatures:
    """The reference's ZenNgramDict and sequence-task convert_examples_to_features (single texts)."""

    def __init__(self, tokenizer, ngram_path, max_seq_length):
        self.tokenizer, self.max_seq_length = tokenizer, max_seq_length
        self.ngram_to_id, self.ngram_to_freq = {}, {}
        with open(ngram_path, "r", encoding="utf-8") as fin:
            for i, line in enumerate(fin):
                items = line.strip().split(",")
                if len(items) != 2:
                    continue
                ngram, freq = items
                tokens = tuple(tokenizer.tokenize(ngram))
                if len([token for token in tokens if "[UNK]" in token]) > 0:
                    tokens = ngram
                self.ngram_to_id[tokens] = i + 1
                self.ngram_to_freq[tokens] = int(freq)

    def __call__(self, text):
        import numpy as np
        L = self.max_seq_length
        tokens = ["[CLS]"] + self.tokenizer.tokenize(text)[:L - 2] + ["[SEP]"]
        input_ids = self.tokenizer.convert_tokens_to_ids(tokens)
        matches = []
        for p in range(2, 8):
            for q in range(0, len(tokens) - p + 1):
                segment = tuple(tokens[q:q + p])
                if segment in self.ngram_to_id:
                    matches.append([self.ngram_to_id[segment], q, p, segment, self.ngram_to_freq[segment]])
        matches = sorted(matches, key=lambda s: s[0])[:math.ceil((len(tokens) / L) * 128)]
        matrix = np.zeros((L, 128), dtype=np.int32)
        for i, match in enumerate(matches):
            matrix[match[1]:match[1] + match[2], i] = match[4]
        matrix = matrix.astype(np.float64)
        matrix = matrix / (matrix.sum(1, keepdims=True) + 1e-10)
        return input_ids, [m[0] for m in matches], matrix.astype(np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vocab", default=os.path.join(SHARED, "data/bert-base-chinese-vocab.txt"))
    parser.add_argument("--ngrams", default=os.path.join(SHARED, "data/ngram/jieba-ngram.txt"))
    parser.add_argument("--input", default=os.path.join(SHARED, "data/sentiment/train.json"))
    parser.add_argument("--field", default="sentence")
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--zen", default=os.path.join(ROOT, ".build/release/zen"))
    args = parser.parse_args()

    import transformers
    from transformers import BertTokenizer, BertTokenizerFast
    if not transformers.__version__.startswith("4."):
        sys.exit("needs transformers<5 for the pure-Python BertTokenizer")

    texts = [json.loads(line)[args.field] for line in open(args.input, encoding="utf-8") if line.strip()]

    start = time.perf_counter()
    slow = BertTokenizer(args.vocab, do_lower_case=True)
    slow_load = time.perf_counter() - start
    start = time.perf_counter()
    fast = BertTokenizerFast(args.vocab, do_lower_case=True)
    fast_load = time.perf_counter() - start

    slow_rate = best_rate(texts, lambda ts: [slow.convert_tokens_to_ids(slow.tokenize(t)) for t in ts], args.repeats)
    fast_rate = best_rate(texts, lambda ts: [fast.encode(t, add_special_tokens=False) for t in ts], args.repeats)
    fast_batch_rate = best_rate(texts, lambda ts: fast(ts, add_special_tokens=False)["input_ids"], args.repeats)

    start = time.perf_counter()
    reference = ReferenceFeatures(slow, args.ngrams, args.max_seq_length)
    reference_load = time.perf_counter() - start
    reference_rate = best_rate(texts, lambda ts: [reference(t) for t in ts], 1)

    zen = json.loads(subprocess.check_output([
        args.zen, "bench-text", "--vocab", args.vocab, "--ngrams", args.ngrams, "--input", args.input,
        "--field", args.field, "--max-seq-length", str(args.max_seq_length), "--repeats", str(args.repeats)]))

    # Agreement on every text: `zen features` against the reference pipeline.
    with tempfile.TemporaryDirectory() as model:
        os.symlink(os.path.abspath(args.vocab), os.path.join(model, "vocab.txt"))
        os.symlink(os.path.abspath(args.ngrams), os.path.join(model, "ngram.txt"))
        source, output = os.path.join(model, "in.jsonl"), os.path.join(model, "out.jsonl")
        with open(source, "w", encoding="utf-8") as f:
            for t in texts:
                f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
        subprocess.check_call([args.zen, "features", "--model", model, "--task", "sequence",
                               "--max-seq-length", str(args.max_seq_length), "--input", source, "--output", output])
        zen_features = [json.loads(line) for line in open(output, encoding="utf-8")]
    disagreements = 0
    for text, got in zip(texts, zen_features):
        input_ids, ngram_ids, matrix = reference(text)
        entries = [[r, c, float(matrix[r, c])] for r, c in zip(*matrix.nonzero())]
        same = (got["input_ids"] == input_ids and got["ngram_ids"] == ngram_ids
                and len(got["ngram_matrix"]) == len(entries)
                and all(a[:2] == b[:2] and abs(a[2] - b[2]) <= 1e-6 for a, b in zip(got["ngram_matrix"], entries)))
        disagreements += not same

    def row(name, rate, load=None):
        load_text = f"{load:.3f}" if load is not None else ""
        return f"| {name} | {rate:,.0f} | {rate / slow_rate:.1f}x | {load_text} |"

    print(f"{len(texts):,} texts, {zen['tokens']:,} tokens; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores; transformers {transformers.__version__}")
    print()
    print("| what | texts/s | vs Python BertTokenizer | load s |")
    print("|---|---:|---:|---:|")
    print(row("transformers BertTokenizer (pure Python), tokenize", slow_rate, slow_load))
    print(row("transformers BertTokenizerFast (Rust), one text a call", fast_rate, fast_load))
    print(row("transformers BertTokenizerFast (Rust), whole batch, parallel", fast_batch_rate))
    print(row("zen tokenize, 1 thread", zen["tokenize_texts_per_s"], zen["vocab_load_s"]))
    print(row(f"zen tokenize, {zen['threads']} threads", zen["tokenize_texts_per_s_parallel"]))
    print(row(f"reference features (ZEN 2.0 n-gram code + pure-Python tokenizer, L={args.max_seq_length})",
              reference_rate, reference_load))
    print(row(f"zen features (tokens + n-grams + matrix, L={args.max_seq_length}), 1 thread",
              zen["features_texts_per_s"], zen["load_s"]))
    print(row(f"zen features, {zen['threads']} threads", zen["features_texts_per_s_parallel"]))
    print()
    print(f"lexicon load (vocabulary + {zen['ngram_entries']:,} matchable entries): zen {zen['load_s']:.3f} s, "
          f"reference {reference_load:.2f} s ({reference_load / zen['load_s']:.0f}x)")
    print(f"texts whose zen features differ from the reference pipeline's: {disagreements} of {len(texts)}")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
