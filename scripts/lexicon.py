#!/usr/bin/env python3
"""The PMI n-gram lexicon of `zen lexicon`, written plainly in Python: the same algorithm, options
and output, to check zen's output against and to time it against (scripts/bench_lexicon.py).

    python3 scripts/lexicon.py --corpus ../shared/data/corpus/pretrain.txt \\
        --vocab ../shared/data/bert-base-chinese-vocab.txt --output ngram.txt

Three passes over the corpus, one line at a time, over the tokens of the ZEN 2.0 tokenizer (BERT
basic + WordPiece with `str.lower()` per word, ported below; no dependencies). As in zen, the text
is tokenized once: the first pass writes each line's tokens to a scratch file that the others read.
1. count every token c(a), every adjacent pair without [UNK] c(ab), and the tokens N;
2. glue adjacent tokens while log(N*c(ab) / (c(a)*c(b))) >= --min-pmi and count every maximal glued
   segment of 2..--max-length tokens; keep those counted >= --min-count times whose text tokenizes
   back to them and holds no comma;
3. count every occurrence of each kept n-gram (any position, overlapping ones too); write
   `n-gram,frequency` lines, most frequent first, then by text; at most --max-ngrams.
"""
import argparse
import math
import os
import sys
import tempfile
import time
import unicodedata
from collections import Counter

UNK = "[UNK]"
NEVER_SPLIT = {"[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"}


def is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def is_punctuation(char):
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


class Tokenizer:
    """The ZEN 2.0 (pytorch-pretrained-bert) BasicTokenizer + WordpieceTokenizer, lower-casing."""

    def __init__(self, vocab_path):
        with open(vocab_path, encoding="utf-8") as f:
            self.vocab = {line[:-1] if line.endswith("\n") else line: i for i, line in enumerate(f)}

    def tokenize(self, text):
        cleaned = []
        for char in text:
            cp = ord(char)
            if cp == 0 or cp == 0xFFFD or (char not in "\t\n\r" and unicodedata.category(char).startswith("C")):
                continue
            if char in " \t\n\r" or unicodedata.category(char) == "Zs":
                cleaned.append(" ")
            elif is_cjk(cp):
                cleaned.append(" " + char + " ")
            else:
                cleaned.append(char)
        pieces = []
        for word in "".join(cleaned).split():
            if word in NEVER_SPLIT:
                pieces.append(word)
                continue
            word = "".join(c for c in unicodedata.normalize("NFD", word.lower()) if unicodedata.category(c) != "Mn")
            current = []
            for char in word:
                if is_punctuation(char):
                    if current:
                        pieces.append("".join(current))
                        current = []
                    pieces.append(char)
                else:
                    current.append(char)
            if current:
                pieces.append("".join(current))
        tokens = []
        for piece in pieces:
            tokens.extend(self.wordpiece(piece))
        return tokens

    def wordpiece(self, piece):
        if len(piece) > 100:
            return [UNK]
        out, start = [], 0
        while start < len(piece):
            end = len(piece)
            while end > start:
                candidate = piece[start:end] if start == 0 else "##" + piece[start:end]
                if candidate in self.vocab:
                    out.append(candidate)
                    break
                end -= 1
            else:
                return [UNK]
            start = end
        return out


def corpus_lines(paths):
    """Every line of every file, as Python reads text: universal newlines, terminator removed."""
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                yield line[:-1] if line.endswith("\n") else line


def tokenize_to(paths, tokenizer, scratch):
    """The first pass's reading: every line's tokens, also written to `scratch`, space-separated
    (no token holds whitespace)."""
    with open(scratch, "w", encoding="utf-8") as out:
        for line in corpus_lines(paths):
            tokens = tokenizer.tokenize(line)
            out.write(" ".join(tokens) + "\n")
            yield tokens


def tokens_from(scratch):
    """The later passes' reading: the tokens the first pass wrote."""
    with open(scratch, encoding="utf-8") as f:
        for line in f:
            yield line.split()


def text_of(tokens):
    """The text that tokenizes back to `tokens`: ## pieces join, CJK and punctuation join, words get a space."""
    text, previous = "", None
    for token in tokens:
        if previous is not None and len(token) > 2 and token.startswith("##"):
            token = token[2:]
        elif previous is not None and not (is_cjk(ord(previous)) or is_punctuation(previous)
                                           or is_cjk(ord(token[0])) or is_punctuation(token[0])):
            text += " "
        text += token
        previous = token[-1]
    return text


def build(paths, tokenizer, min_pmi, min_count, max_length, max_ngrams, scratch):
    # Pass 1: unigrams, adjacent pairs, N.
    unigrams, pairs, n, lines = Counter(), Counter(), 0, 0
    for tokens in tokenize_to(paths, tokenizer, scratch):
        lines += 1
        n += len(tokens)
        unigrams.update(tokens)
        for a, b in zip(tokens, tokens[1:]):
            if a != UNK and b != UNK:
                pairs[a, b] += 1
    glue = {(a, b) for (a, b), count in pairs.items()
            if math.log(float(n) * count / (float(unigrams[a]) * unigrams[b])) >= min_pmi}

    # Pass 2: maximal glued segments of 2..max_length tokens.
    segments = Counter()
    for tokens in tokens_from(scratch):
        start = 0
        for end in range(len(tokens)):
            if end + 1 == len(tokens) or (tokens[end], tokens[end + 1]) not in glue:
                if 2 <= end + 1 - start <= max_length:
                    segments[tuple(tokens[start:end + 1])] += 1
                start = end + 1
    kept = {}
    for segment, count in segments.items():
        if count >= min_count:
            text = text_of(segment)
            if "," not in text and tuple(tokenizer.tokenize(text)) == segment:
                kept[segment] = text

    # Pass 3: every occurrence of the kept n-grams.
    frequencies = Counter()
    for tokens in tokens_from(scratch):
        for start in range(len(tokens)):
            for length in range(2, min(max_length, len(tokens) - start) + 1):
                ngram = tuple(tokens[start:start + length])
                if ngram in kept:
                    frequencies[ngram] += 1
    entries = sorted(((text, frequencies[ngram]) for ngram, text in kept.items()), key=lambda e: (-e[1], e[0]))
    if max_ngrams is not None:
        entries = entries[:max_ngrams]
    return entries, lines, n


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", nargs="+", required=True)
    parser.add_argument("--vocab", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--min-pmi", type=float, default=2.0)
    parser.add_argument("--min-count", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=7)
    parser.add_argument("--max-ngrams", type=int)
    args = parser.parse_args()
    if not math.isfinite(args.min_pmi):
        parser.error(f"--min-pmi {args.min_pmi} is out of range: it must be a finite number")
    if args.min_count < 1:
        parser.error(f"--min-count {args.min_count} is out of range: it must be at least 1")
    if not 2 <= args.max_length <= 7:
        parser.error(f"--max-length {args.max_length} is out of range: it must be between 2 and 7 (tokens)")
    if args.max_ngrams is not None and args.max_ngrams < 1:
        parser.error(f"--max-ngrams {args.max_ngrams} is out of range: it must be at least 1")

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as directory:
        entries, lines, n = build(args.corpus, Tokenizer(args.vocab), args.min_pmi, args.min_count, args.max_length,
                                  args.max_ngrams, os.path.join(directory, "tokens.txt"))
    if not entries:
        sys.exit(f"no n-gram in {', '.join(args.corpus)} ({lines} lines, {n} tokens) passed the thresholds; "
                 "lower --min-pmi or --min-count")
    directory = os.path.dirname(os.path.abspath(args.output))
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=directory, delete=False) as f:
        f.writelines(f"{text},{frequency}\n" for text, frequency in entries)
    os.replace(f.name, args.output)
    print(f"lexicon.py: {lines} lines, {n} tokens, {len(entries)} n-grams in {time.perf_counter() - start:.1f} s, "
          f"written to {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
