#!/usr/bin/env python3
"""Tokenizer parity beyond the fixtures: zen against transformers' pure-Python BertTokenizer.

Runs `zen features` over every assigned code point of planes 0-2 (in runs of 64, joined and
space-separated) and over the pre-training corpus, and reports every text whose tokens differ.
The known differences are listed in README.md ("Exactness"): transformers 4.x lower-cases
character by character (no Final_Sigma, which the ZEN 2.0 tokenizer's `str.lower()` applies), and
Swift's Unicode data is newer than Python 3.11's (general category changes such as U+1171E).

    pip install "transformers<5"; swift build -c release; python3 scripts/tokenizer_parity.py
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")


def main():
    from transformers import BertTokenizer
    vocab = os.path.join(SHARED, "data/bert-base-chinese-vocab.txt")
    python = BertTokenizer(vocab, do_lower_case=True)
    texts = [line.rstrip("\n") for line in open(os.path.join(SHARED, "data/corpus/pretrain.txt"), encoding="utf-8")]
    for start in range(0x80, 0x30000, 64):
        run = "".join(chr(c) for c in range(start, start + 64) if not 0xD800 <= c < 0xE000)
        texts += [run, " ".join(run)]
    max_seq_length = 4096
    with tempfile.TemporaryDirectory() as model:
        os.symlink(vocab, os.path.join(model, "vocab.txt"))
        open(os.path.join(model, "ngram.txt"), "w").close()
        source, output = os.path.join(model, "in.jsonl"), os.path.join(model, "out.jsonl")
        with open(source, "w", encoding="utf-8") as f:
            for text in texts:
                f.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
        subprocess.check_call([os.path.join(ROOT, ".build/release/zen"), "features", "--model", model,
                               "--task", "sequence", "--max-seq-length", str(max_seq_length),
                               "--input", source, "--output", output])
        zen = [json.loads(line)["tokens"][1:-1] for line in open(output, encoding="utf-8")]
    differing = 0
    for text, got in zip(texts, zen):
        expected = python.tokenize(text)[:max_seq_length - 2]
        if got != expected:
            differing += 1
            at = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
            print(f"{text[:40]!r}: zen {got[max(0, at - 1):at + 3]} python {expected[max(0, at - 1):at + 3]}")
    print(f"{differing} of {len(texts)} texts differ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
