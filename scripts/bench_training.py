"""Training speed of `zen finetune` next to PyTorch training the same model on the same batches.

Both sides start from the same checkpoint (e.g. `zen init`'s hidden-256 model), take the same
batches of real data in file order (batch 32, dynamic padding as the reference scripts pad:
each batch to its longest sequence, all 128 n-gram slots), and run the same arithmetic: the
classification or token loss, its backward pass and an AdamW step (no decay on biases and
LayerNorm). PyTorch is `zen2_torch` (a faithful port of the reference network, 10/10 fixture
tests) with torch's own threads; zen is the release binary. Dropout is off on both sides, since
the port has none. The processes alternate, `--repeats` times each; medians are reported.

    swift build -c release
    python3 scripts/bench_training.py --model /tmp/small --task classification \
        --train ../shared/data/sentiment/train.json
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zen2_torch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZEN = os.path.join(ROOT, ".build", "release", "zen")


def read_examples(task, path, count):
    """The first `count` examples: (text, label) for classification, (chars, tags) for tokens."""
    examples = []
    with open(path, encoding="utf-8") as f:
        if task == "classification":
            for line in f:
                if line.strip():
                    row = json.loads(line)
                    examples.append((row["sentence"], row["label"]))
                if len(examples) == count:
                    break
        else:
            chars, tags = [], []
            for line in f:
                line = line.rstrip("\n")
                if not line.strip():
                    if chars:
                        examples.append((chars, tags))
                        chars, tags = [], []
                    if len(examples) == count:
                        break
                    continue
                char, tag = line.rsplit(" ", 1) if " " in line else line.rsplit("\t", 1)
                chars.append(char)
                tags.append(tag)
    return examples


def zen_features(model, task, examples, max_seq_length, directory):
    """zen's own features for the examples (so both sides see the same n-grams and matrices)."""
    source, target = os.path.join(directory, "in.jsonl"), os.path.join(directory, "out.jsonl")
    labels = sorted({tag for _, tags in examples for tag in tags}) if task == "ner" else None
    with open(source, "w", encoding="utf-8") as f:
        for text, label in examples:
            row = {"text": text} if task == "classification" else {"chars": text, "labels": label}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    command = [ZEN, "features", "--model", model, "--task", "sequence" if task == "classification" else "token",
               "--max-seq-length", str(max_seq_length), "--input", source, "--output", target]
    if labels:
        command += ["--labels", ",".join(labels)]
    subprocess.run(command, check=True)
    with open(target, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def torch_batches(rows, examples, task, batch_size, classes):
    batches = []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start:start + batch_size]
        B, L = len(chunk), max(len(r["input_ids"]) for r in chunk)
        b = {
            "input_ids": torch.zeros(B, L, dtype=torch.int64),
            "token_type_ids": torch.zeros(B, L, dtype=torch.int64),
            "attention_mask": torch.zeros(B, L, dtype=torch.int64),
            "ngram_ids": torch.zeros(B, zen2_torch.NGRAM_SLOTS, dtype=torch.int64),
            "ngram_matrix": torch.zeros(B, L, zen2_torch.NGRAM_SLOTS),
        }
        for i, r in enumerate(chunk):
            n = len(r["input_ids"])
            b["input_ids"][i, :n] = torch.tensor(r["input_ids"])
            b["token_type_ids"][i, :n] = torch.tensor(r["segment_ids"])
            b["attention_mask"][i, :n] = 1
            b["ngram_ids"][i, :len(r["ngram_ids"])] = torch.tensor(r["ngram_ids"], dtype=torch.int64)
            for row, column, value in r["ngram_matrix"]:
                if row < L:
                    b["ngram_matrix"][i, row, column] = value
        if task == "classification":
            labels = torch.tensor([classes.index(examples[start + i][1]) for i in range(B)])
        else:
            labels = torch.zeros(B, L, dtype=torch.int64)
            for i, r in enumerate(chunk):
                labels[i, :len(r["label_ids"])] = torch.tensor(r["label_ids"])
        batches.append((b, labels))
    return batches


def torch_examples_per_second(model_dir, task, batches, classes, threads, learning_rate):
    torch.set_num_threads(threads)
    model, config = zen2_torch.load(model_dir)
    if model.classifier is None or model.classifier.out_features != classes:
        model.classifier = torch.nn.Linear(config.hidden_size, classes)
        torch.nn.init.normal_(model.classifier.weight, std=0.02)
        torch.nn.init.zeros_(model.classifier.bias)
    zen2_torch.set_dropout(model, 0.0)
    model.train()
    optimizer = zen2_torch.adamw(model, learning_rate, weight_decay=0.01)
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=0 if task == "ner" else -100)

    def step(inputs, labels):
        logits = model(**inputs, head="sequence" if task == "classification" else "token")
        if task == "ner":
            active = inputs["attention_mask"].view(-1) == 1
            loss = loss_fn(logits.view(-1, classes)[active], labels.view(-1)[active])
        else:
            loss = loss_fn(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    step(*batches[0])  # warm-up, not timed
    examples, start = 0, time.perf_counter()
    for inputs, labels in batches[1:]:
        step(inputs, labels)
        examples += inputs["input_ids"].shape[0]
    return examples / (time.perf_counter() - start)


def zen_examples_per_second(model_dir, task, train, steps, batch_size, max_seq_length, threads, learning_rate, directory):
    output = os.path.join(directory, "zen-out")
    result = subprocess.run([ZEN, "finetune", "--model", model_dir, "--task", task, "--train", train, "--output", output,
                             "--overwrite", "--no-shuffle", "--dropout", "0", "--max-steps", str(steps),
                             "--batch-size", str(batch_size), "--max-seq-length", str(max_seq_length),
                             "--learning-rate", str(learning_rate), "--threads", str(threads)],
                            check=True, capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])["examples_per_second"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--task", choices=["classification", "ner"], required=True)
    parser.add_argument("--train", required=True)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--repeats", type=int, default=2)
    a = parser.parse_args()

    # zen takes the first `steps` batches of the file (--no-shuffle); torch the same ones.
    examples = read_examples(a.task, a.train, a.steps * a.batch_size)
    with tempfile.TemporaryDirectory() as directory:
        rows = zen_features(a.model, a.task, examples, a.max_seq_length, directory)
        if a.task == "classification":
            classes = list(dict.fromkeys(label for _, label in read_examples(a.task, a.train, 10**9)))
            num_classes = len(classes)
        else:
            classes = None
            num_classes = 1 + max(max(r["label_ids"]) for r in rows) + 2
        batches = torch_batches(rows, examples, a.task, a.batch_size, classes)
        torch_runs, zen_runs = [], []
        for _ in range(a.repeats):
            torch_runs.append(torch_examples_per_second(a.model, a.task, batches, num_classes if a.task == "ner" else len(classes),
                                                        a.threads, a.learning_rate))
            zen_runs.append(zen_examples_per_second(a.model, a.task, a.train, a.steps, a.batch_size, a.max_seq_length,
                                                    a.threads, a.learning_rate, directory))
    torch_median, zen_median = statistics.median(torch_runs), statistics.median(zen_runs)
    print(json.dumps({"task": a.task, "batch_size": a.batch_size, "steps": a.steps, "threads": a.threads,
                      "torch_examples_per_s": torch_median, "zen_examples_per_s": zen_median,
                      "ratio": zen_median / torch_median, "torch_runs": torch_runs, "zen_runs": zen_runs,
                      "torch_version": torch.__version__}))


if __name__ == "__main__":
    main()
