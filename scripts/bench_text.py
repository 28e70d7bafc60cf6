#!/usr/bin/env python3
"""Text-side benchmark: zen next to Hugging Face's tokenizers, in one run, on the same data.

Measures, on ../shared/data/sentiment/train.json by default:
  - loading the vocabulary plus the n-gram lexicon (zen) next to loading the tokenizers;
  - texts per second of tokenization: transformers' BertTokenizer (pure Python, what the ZEN 2.0
    reference uses; transformers<5), BertTokenizerFast (Rust `tokenizers`), and zen;
  - texts per second of zen's full features (tokens + n-gram hits + fusion matrix);
  - agreement: zen's token ids equal the pure-Python tokenizer's on every text.

    pip install "transformers<5"
    swift build -c release
    python3 scripts/bench_text.py
"""
import argparse
import json
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

    zen = json.loads(subprocess.check_output([
        args.zen, "bench-text", "--vocab", args.vocab, "--ngrams", args.ngrams, "--input", args.input,
        "--field", args.field, "--max-seq-length", str(args.max_seq_length), "--repeats", str(args.repeats)]))

    # Agreement on every text: zen features (long enough not to truncate) against the Python tokenizer.
    with tempfile.TemporaryDirectory() as model:
        os.symlink(os.path.abspath(args.vocab), os.path.join(model, "vocab.txt"))
        os.symlink(os.path.abspath(args.ngrams), os.path.join(model, "ngram.txt"))
        source, output = os.path.join(model, "in.jsonl"), os.path.join(model, "out.jsonl")
        with open(source, "w", encoding="utf-8") as f:
            for t in texts:
                f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
        subprocess.check_call([args.zen, "features", "--model", model, "--task", "sequence",
                               "--max-seq-length", "4096", "--input", source, "--output", output])
        zen_ids = [json.loads(line)["input_ids"][1:-1] for line in open(output, encoding="utf-8")]
    python_ids = [slow.convert_tokens_to_ids(slow.tokenize(t)) for t in texts]
    disagreements = sum(a != b for a, b in zip(zen_ids, python_ids))

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
    print(row(f"zen features (tokens + n-grams + matrix, L={args.max_seq_length}), 1 thread",
              zen["features_texts_per_s"], zen["load_s"]))
    print(row(f"zen features, {zen['threads']} threads", zen["features_texts_per_s_parallel"]))
    print()
    print(f"zen load: vocabulary + {zen['ngram_entries']:,}-entry lexicon in {zen['load_s']:.3f} s")
    print(f"token ids differing from the pure-Python tokenizer: {disagreements} of {len(texts)}")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
