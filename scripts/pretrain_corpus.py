#!/usr/bin/env python3
"""The unlabelled text of README's pre-training runs, in `zen pregenerate`'s corpus form (documents
separated by blank lines, one sentence a line). ../shared/data/corpus/pretrain.txt is the news text
(the NER training sentences, in order) followed by the sentiment training reviews; the
segmentation training split adds sentences of its own. Never a dev or test sentence.

- `train.txt`: the news lines of pretrain.txt without the last --held-out (one document, in file
  order); each review of pretrain.txt a document of its own, cut into sentences (a one-sentence
  review at its middle comma) so that its lines can pair up; the NER and segmentation training
  sentences that pretrain.txt does not have, one document, in file order.
- `heldout.txt`: those last --held-out news lines (one document), for the held-out MLM accuracy;
  none of them is in train.txt.

    python3 scripts/pretrain_corpus.py --shared ../shared --output runs/pretrain/corpus
"""
import argparse
import json
import os
import re


def char_file_sentences(path):
    """The sentences of a char-per-line file: the characters of each blank-line-separated block."""
    sentences, chars = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if not fields:
                if chars:
                    sentences.append("".join(chars))
                    chars = []
            else:
                chars.append(fields[0])
    if chars:
        sentences.append("".join(chars))
    return sentences


def review_lines(review):
    """A review cut after each sentence-ending mark; one sentence is cut at its middle comma."""
    parts = [p.strip() for p in re.split(r"(?<=[。！？!?；;…])", review) if p.strip()]
    if len(parts) == 1:
        commas = [i for i, c in enumerate(review) if c in "，,"]
        if commas:
            cut = min(commas, key=lambda i: abs(i - len(review) / 2)) + 1
            parts = [p for p in (review[:cut].strip(), review[cut:].strip()) if p]
    return parts


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", default="../shared")
    parser.add_argument("--output", required=True)
    parser.add_argument("--held-out", type=int, default=400)
    args = parser.parse_args()
    data = os.path.join(args.shared, "data")
    with open(os.path.join(data, "corpus", "pretrain.txt"), encoding="utf-8") as f:
        corpus = [line.strip() for line in f if line.strip()]
    with open(os.path.join(data, "sentiment", "train.json"), encoding="utf-8") as f:
        reviews = {json.loads(line)["sentence"].strip() for line in f if line.strip()}
    news = [line for line in corpus if line not in reviews]
    train_news, held_out = news[:-args.held_out], news[-args.held_out:]
    documents = [train_news] + [review_lines(line) for line in corpus if line in reviews]
    seen = set(corpus)
    extra = []
    for name in ("peoples-daily-ner/train.char.bio", "peoples-daily-cws/train.char.bmes"):
        for sentence in char_file_sentences(os.path.join(data, name)):
            if sentence not in seen:
                seen.add(sentence)
                extra.append(sentence)
    documents.append(extra)
    # A line that recurs (a dateline, a short quote) is held out everywhere it occurs.
    held = set(held_out)
    documents = [[line for line in document if line not in held] for document in documents]
    os.makedirs(args.output, exist_ok=True)
    with open(os.path.join(args.output, "train.txt"), "w", encoding="utf-8") as f:
        f.write("\n\n".join("\n".join(document) for document in documents if document) + "\n")
    with open(os.path.join(args.output, "heldout.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(held_out) + "\n")
    lines = sum(len(d) for d in documents)
    chars = sum(len(s) for d in documents for s in d)
    print(json.dumps({"documents": len(documents), "lines": lines, "characters": chars, "held_out_lines": len(held_out)}))


if __name__ == "__main__":
    main()
