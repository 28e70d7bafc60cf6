#!/usr/bin/env python3
"""Chooses a classification fine-tuning recipe for a fresh `zen init` model by dev accuracy:
many settings, several seeds each, trained in PyTorch on a GPU (zen2_torch, with the reference's
dropout) in the time one CPU run of `zen finetune` takes. The winner is then run with zen itself.

The training is zen finetune's: the same features (from `zen features`), the same BERT
initialization, batches of `batch_size` drawn by a per-epoch shuffle and padded to their longest
text, mean cross-entropy (optionally label-smoothed), AdamW with no decay on biases and
LayerNorm, the reference's warm-up + linear schedule, dev accuracy every `eval_every` steps and
at each epoch's end; the test accuracy at the best dev step is recorded too, but only dev chooses.

    # here, once per lexicon and max_seq_length: every split's features (zen features)
    python3 scripts/sweep_classification.py prepare --model runs/small-full --data ../shared/data/sentiment \
        --max-seq-length 128 --output .build-sweep/full-128.npz
    # on the GPU machine (carry .build-sweep): a grid, {"base": {...}, "variants": [{...}, ...], "seeds": [...]}
    python3 scripts/sweep_classification.py run --grid scripts/sentiment_grid.json --workers 12 --output results.jsonl
    python3 scripts/sweep_classification.py summarize --grid scripts/sentiment_grid.json --results results.jsonl
    # here: the check that this loop trains what zen trains (dropout 0, file order, one checkpoint)
    python3 scripts/sweep_classification.py check --model runs/small --data ../shared/data/sentiment --steps 20
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_training  # noqa: E402
import zen2_torch  # noqa: E402

ZEN = bench_training.ZEN
SLOTS = zen2_torch.NGRAM_SLOTS

# A setting: the architecture of `zen init` and the options of `zen finetune`.
DEFAULTS = {
    "hidden_size": 256, "num_hidden_layers": 4, "num_hidden_word_layers": 2, "num_attention_heads": 4,
    "intermediate_size": 1024, "batch_size": 32, "learning_rate": 1e-4, "weight_decay": 0.01,
    "warmup_ratio": 0.1, "epochs": 3, "dropout": 0.1, "label_smoothing": 0.0, "eval_every": 100,
    "ngrams": True,
}


# -----------------------------------------------------------------------------
# features


def prepare(model, data, max_seq_length, output):
    """One .npz with every split's features as padded arrays: ids [N, L], n-gram ids [N, 128],
    the fusion matrix as (example, row, column, value) entries, labels as class indices."""
    arrays, classes = {}, None
    for split in ("train", "dev", "test"):
        examples = bench_training.read_examples("classification", os.path.join(data, f"{split}.json"), None)
        labels = [label for _, label in examples]
        classes = classes or list(dict.fromkeys(labels))
        with tempfile.TemporaryDirectory() as directory:
            rows = bench_training.zen_features(model, "classification", examples, max_seq_length, directory)
        n = len(rows)
        ids = np.zeros((n, max_seq_length), np.int32)
        ngrams = np.zeros((n, SLOTS), np.int32)
        entries = []
        for i, row in enumerate(rows):
            ids[i, :len(row["input_ids"])] = row["input_ids"]
            ngrams[i, :len(row["ngram_ids"])] = row["ngram_ids"]
            entries += [(i, r, c, v) for r, c, v in row["ngram_matrix"]]
        entries = np.array(entries, np.float64).reshape(-1, 4)
        arrays[f"{split}_ids"] = ids
        arrays[f"{split}_lengths"] = np.array([len(row["input_ids"]) for row in rows], np.int32)
        arrays[f"{split}_ngram_ids"] = ngrams
        arrays[f"{split}_matrix_index"] = entries[:, :3].astype(np.int32)
        arrays[f"{split}_matrix_value"] = entries[:, 3].astype(np.float32)
        arrays[f"{split}_labels"] = np.array([classes.index(label) for label in labels], np.int64)
    with open(os.path.join(model, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    np.savez_compressed(output, classes=np.array(classes), vocab_size=config["vocab_size"], word_size=config["word_size"],
                        max_seq_length=max_seq_length, **arrays)


class Split:
    """A split on the device: ids, lengths, n-gram ids and the dense fusion matrix."""

    def __init__(self, archive, name, device):
        self.ids = torch.from_numpy(archive[f"{name}_ids"]).long().to(device)
        self.lengths = torch.from_numpy(archive[f"{name}_lengths"]).long().to(device)
        self.ngram_ids = torch.from_numpy(archive[f"{name}_ngram_ids"]).long().to(device)
        self.labels = torch.from_numpy(archive[f"{name}_labels"]).to(device)
        n, length = self.ids.shape
        self.matrix = torch.zeros(n, length, SLOTS, device=device)
        index = torch.from_numpy(archive[f"{name}_matrix_index"]).long().to(device)
        self.matrix[index[:, 0], index[:, 1], index[:, 2]] = torch.from_numpy(archive[f"{name}_matrix_value"]).to(device)

    def __len__(self):
        return self.ids.shape[0]

    def batch(self, members, ngrams=True):
        """Model inputs for the members, padded to the longest of them."""
        length = int(self.lengths[members].max())
        ids = self.ids[members, :length]
        return {"input_ids": ids, "token_type_ids": torch.zeros_like(ids), "attention_mask": (ids != 0).long(),
                "ngram_ids": self.ngram_ids[members],
                "ngram_matrix": self.matrix[members, :length] if ngrams else self.matrix.new_zeros(len(members), length, SLOTS)}


# -----------------------------------------------------------------------------
# training


def new_model(setting, sizes, classes, generator):
    """A model initialized as `zen init` initializes it (BERT's: normal weights, zero biases and
    padding rows, unit LayerNorm, normal relative-attention biases) plus a normal classifier."""
    config = zen2_torch.ZenConfig(
        hidden_size=setting["hidden_size"], num_hidden_layers=setting["num_hidden_layers"],
        num_hidden_word_layers=setting["num_hidden_word_layers"], num_attention_heads=setting["num_attention_heads"],
        intermediate_size=setting["intermediate_size"], vocab_size=sizes[0], word_size=sizes[1], num_labels=classes,
        hidden_dropout_prob=setting["dropout"], attention_probs_dropout_prob=setting["dropout"])
    model = zen2_torch.Zen(config, classifier=True, pretraining=False)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "LayerNorm.weight" in name:
                parameter.fill_(1)
            elif name.endswith("bias") and "r_" not in name.rsplit(".", 1)[-1]:
                parameter.zero_()
            else:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.02)
        model.bert.embeddings.word_embeddings.weight[0].zero_()
        model.bert.word_embeddings.word_embeddings.weight[0].zero_()
    return model


def rate(setting, examples, step):
    """zen's LearningRateSchedule: warm-up, linear decay to 1e-7 over floor(examples·epochs/batch) steps."""
    peak, end = setting["learning_rate"], 1e-7
    total = examples * setting["epochs"] // setting["batch_size"]
    warmup = setting["warmup_ratio"] * total
    if step < warmup:
        return peak * step / max(1, warmup)
    if step > total:
        return end
    return (peak - end) * (1 - (step - warmup) / (total - warmup)) + end


@torch.no_grad()
def accuracy(model, split, ngrams):
    model.eval()
    correct = 0
    for start in range(0, len(split), 256):
        members = torch.arange(start, min(len(split), start + 256), device=split.ids.device)
        logits = model(**split.batch(members, ngrams), head="sequence")
        correct += int((logits.argmax(-1) == split.labels[members]).sum())
    model.train()
    return correct / len(split)


def train(setting, seed, splits, sizes, classes, model=None, shuffle=True, max_steps=None):
    """One run; returns the dev accuracy of every evaluation, the test accuracy at the best and
    every step's loss. A new model has `sizes` (vocabulary, n-gram rows) and `classes` outputs;
    `model` continues a loaded checkpoint instead."""
    train_split, dev, test = splits
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = model or new_model(setting, sizes, classes, generator).to(train_split.ids.device)
    model.train()
    optimizer = zen2_torch.adamw(model, setting["learning_rate"], setting["weight_decay"])
    n, batch = len(train_split), setting["batch_size"]
    steps_per_epoch = math.ceil(n / batch)
    history, best, losses = [], None, []
    for step in range(min(max_steps or 10**9, steps_per_epoch * setting["epochs"])):
        epoch, index = divmod(step, steps_per_epoch)
        if index == 0:
            order = (torch.randperm(n, generator=generator) if shuffle else torch.arange(n)).to(train_split.ids.device)
        members = order[index * batch:(index + 1) * batch]
        logits = model(**train_split.batch(members, setting["ngrams"]), head="sequence")
        loss = F.cross_entropy(logits, train_split.labels[members], label_smoothing=setting["label_smoothing"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        for group in optimizer.param_groups:
            group["lr"] = rate(setting, n, step)
        optimizer.step()
        losses.append(loss.item())
        if (step + 1) % setting["eval_every"] == 0 or index == steps_per_epoch - 1:
            dev_accuracy = accuracy(model, dev, setting["ngrams"])
            history.append((step + 1, dev_accuracy))
            if best is None or dev_accuracy > best[1]:
                best = (step + 1, dev_accuracy, accuracy(model, test, setting["ngrams"]))
    best = best or (None, None, None)
    return {"dev_history": history, "best_step": best[0], "best_dev": best[1], "test_at_best": best[2], "losses": losses}


# -----------------------------------------------------------------------------
# the sweep


def worker(rank, jobs, output, device_name):
    torch.backends.cuda.matmul.allow_tf32 = True
    device = torch.device(device_name)
    cache = {}
    with open(output, "a", encoding="utf-8") as out:
        for setting, seed in jobs:
            path = setting["features"]
            if path not in cache:
                cache.clear()
                archive = np.load(path)
                cache[path] = ([Split(archive, name, device) for name in ("train", "dev", "test")],
                               (int(archive["vocab_size"]), int(archive["word_size"])), len(archive["classes"]))
            splits, sizes, classes = cache[path]
            start = time.time()
            result = train(setting, seed, splits, sizes, classes)
            del result["losses"]
            result.update(setting=setting, seed=seed, seconds=round(time.time() - start, 1))
            out.write(json.dumps(result) + "\n")
            out.flush()
            print(f"[{rank}] {json.dumps(setting)} seed {seed}: dev {result['best_dev']:.4f} test {result['test_at_best']:.4f} "
                  f"({result['seconds']} s)", flush=True)


def read_grid(path):
    """A grid file: {"base": setting, "variants": [overrides, ...], "seeds": [...]}; the base is
    DEFAULTS with the file's base over it, and every variant is the base with its overrides."""
    with open(path, encoding="utf-8") as f:
        grid = json.load(f)
    base = {**DEFAULTS, **grid["base"]}
    return base, [{**base, **variant} for variant in grid["variants"]], grid["seeds"]


def run(grid_path, workers, output, device_name, deadline):
    _, settings, seeds = read_grid(grid_path)
    # Every setting's first seed before any setting's second, so a sweep cut short by its deadline
    # has covered all the settings; within a worker, jobs sharing features run one after another.
    jobs = [(setting, seed) for seed in seeds for setting in settings]
    shares = [sorted(jobs[rank::workers], key=lambda job: (job[1], job[0]["features"])) for rank in range(workers)]
    context = torch.multiprocessing.get_context("spawn")
    processes = [context.Process(target=worker, args=(rank, shares[rank], output, device_name)) for rank in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=max(1, deadline - time.time()))
    for process in processes:
        if process.is_alive():
            process.terminate()


def summarize(grid_path, results_path):
    """Each setting's mean best dev accuracy (what chooses) and mean test accuracy at it, best first."""
    base, _, _ = read_grid(grid_path)
    runs = {}
    with open(results_path, encoding="utf-8") as f:
        for line in f:
            result = json.loads(line)
            change = {k: os.path.basename(v) if k == "features" else v for k, v in result["setting"].items() if base.get(k) != v}
            change = json.dumps(change) if change else "base"
            runs.setdefault(change, []).append(result)
    rows = sorted(runs.items(), key=lambda item: -sum(r["best_dev"] for r in item[1]) / len(item[1]))
    print("| setting (changes from the base) | seeds | mean best dev | mean test at it | minutes a run |")
    print("|---|---|---|---|---|")
    for change, results in rows:
        mean = lambda key: sum(r[key] for r in results) / len(results)  # noqa: E731
        print(f"| {change} | {len(results)} | {mean('best_dev'):.4f} | {mean('test_at_best'):.4f} | {mean('seconds') / 60:.1f} |")


def check(model_dir, data, steps, max_seq_length):
    """Trains `steps` steps in file order with dropout 0 here and with zen, from the same
    checkpoint, and prints the largest difference of their step losses."""
    train_path = os.path.join(data, "train.json")
    with tempfile.TemporaryDirectory() as directory:
        def finetune(model, output, max_steps):
            subprocess.run([ZEN, "finetune", "--model", model, "--task", "classification", "--train", train_path, "--output", output,
                            "--no-shuffle", "--dropout", "0", "--max-steps", str(max_steps), "--epochs", "1",
                            "--max-seq-length", str(max_seq_length), "--learning-rate", str(DEFAULTS["learning_rate"])],
                           check=True, capture_output=True)
            with open(os.path.join(output, "train_log.jsonl"), encoding="utf-8") as f:
                return [json.loads(line)["loss"] for line in f]
        # The first step's learning rate is 0 (warm-up), so this writes zen's new classifier unchanged.
        start = os.path.join(directory, "start")
        finetune(model_dir, start, 1)
        zen_losses = finetune(start, os.path.join(directory, "zen"), steps)
        features = os.path.join(directory, "features.npz")
        prepare(start, data, max_seq_length, features)
        archive = np.load(features)
        splits = [Split(archive, name, torch.device("cpu")) for name in ("train", "dev", "test")]
        model, _ = zen2_torch.load(start)
    setting = {**DEFAULTS, "dropout": 0.0, "epochs": 1, "eval_every": 10**9}
    zen2_torch.set_dropout(model, 0.0)
    torch_losses = train(setting, 0, splits, None, None, model=model, shuffle=False, max_steps=steps)["losses"]
    difference = max(abs(a - b) for a, b in zip(zen_losses, torch_losses))
    print(json.dumps({"steps": steps, "max_loss_difference": difference, "zen": zen_losses, "torch": torch_losses}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("prepare")
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--max-seq-length", type=int, default=128)
    p.add_argument("--output", required=True)
    r = commands.add_parser("run")
    r.add_argument("--grid", required=True)
    r.add_argument("--workers", type=int, default=8)
    r.add_argument("--output", required=True)
    r.add_argument("--device", default="cuda")
    r.add_argument("--seconds", type=float, default=480, help="stop the workers after this long")
    m = commands.add_parser("summarize")
    m.add_argument("--grid", required=True)
    m.add_argument("--results", required=True)
    c = commands.add_parser("check")
    c.add_argument("--model", required=True)
    c.add_argument("--data", required=True)
    c.add_argument("--steps", type=int, default=20)
    c.add_argument("--max-seq-length", type=int, default=128)
    a = parser.parse_args()
    if a.command == "prepare":
        prepare(a.model, a.data, a.max_seq_length, a.output)
    elif a.command == "check":
        check(a.model, a.data, a.steps, a.max_seq_length)
    elif a.command == "summarize":
        summarize(a.grid, a.results)
    else:
        run(a.grid, a.workers, a.output, a.device, time.time() + a.seconds)


if __name__ == "__main__":
    main()
