#!/usr/bin/env python3
"""The reference ZEN 2.0 pre-training loop in PyTorch (../shared/ZEN2-SPEC.md section 7: sinovation/ZEN2
examples/run_pre_train.py with ZenForPreTraining), checked against fixtures/training/tiny-pretrain by
test_zen2_torch.py, and the PyTorch side of bench_pretrain.py.

    python3 scripts/zen2_pretrain_torch.py --model DIR --instances instances.jsonl --batch-size 32 \\
        --learning-rate 1e-4 --warmup-proportion 0.1 (--epochs E | --max-steps N) [--max-seq-length 128] \\
        [--no-shuffle] [--seed 42] [--threads N] [--dropout P] [--log train_log.jsonl] [--save DIR]

What a step computes: the batch of pregenerated instances (instances.jsonl, section 7), padded to
its longest instance (outputs at real positions do not depend on padding) and to 128 n-gram slots,
the padded slots masked in the n-gram attention and the n-gram segment ids fed; the frequency-weighted
fusion matrix; MLM cross-entropy averaged over every masked position of the batch plus the mean NSP
cross-entropy; clip_grad_norm_(1.0); LAMB as apex FusedLAMB computes it; the PolyWarmUp rate.
Differences from the reference that change no number: the MLM decoder runs at the masked positions
only (the reference projects every position onto the vocabulary and ignores all but those), and
the run's total steps with --epochs count the last partial batch of each epoch (the reference's
int(instances*epochs/batch), equal when the batch size divides the instances, would run its last
steps past the end of the schedule).

--log writes one {"step", "loss", "mlm_loss", "nsp_loss", "lr"} line per optimizer step (step
1-based, lr the rate that step used), as `zen pretrain`'s train_log.jsonl. --save writes a model
directory (config.json, vocab.txt and ngram.txt of --model, model.safetensors without the tied
decoder weight). At the end one JSON line goes to stdout: steps, instances, seconds (the whole
loop), instances_per_second (the steps after the first, which warms up), final_loss.
"""
import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zen2_torch  # noqa: E402

NGRAM_FIELDS = ("ngram_ids", "ngram_starts", "ngram_lengths", "ngram_freqs", "ngram_segment_ids")
LIST_FIELDS = ("input_ids", "segment_ids", "masked_lm_positions", "masked_lm_ids") + NGRAM_FIELDS


class InputError(Exception):
    """Bad input (an option, an instance, a checkpoint, an output path); the message says which and what to do."""


# -----------------------------------------------------------------------------
# instances


def instance_problem(row, vocab_size, word_size, max_seq_length):
    """Why `row` (one parsed line of instances.jsonl) cannot be trained on; None when it can."""
    for field in LIST_FIELDS + ("next_sentence_label",):
        if field not in row:
            return f'no "{field}" field; an instance has ' + ", ".join(f'"{f}"' for f in LIST_FIELDS + ("next_sentence_label",))
    for field in LIST_FIELDS:
        if not isinstance(row[field], list) or not all(isinstance(x, int) and not isinstance(x, bool) for x in row[field]):
            return f'"{field}" is not a list of integers'
    n = len(row["input_ids"])
    if n < 2:
        return f'"input_ids" has {n} tokens; an instance is at least [CLS] and [SEP]'
    if n > max_seq_length:
        return f'"input_ids" has {n} tokens, more than --max-seq-length {max_seq_length}'
    if len(row["segment_ids"]) != n:
        return f'"segment_ids" has {len(row["segment_ids"])} entries and "input_ids" {n}'
    if any(not 0 <= i < vocab_size for i in row["input_ids"] + row["masked_lm_ids"]):
        return f'a token id in "input_ids" or "masked_lm_ids" is outside the model\'s vocabulary 0..<{vocab_size}'
    if any(s not in (0, 1) for s in row["segment_ids"]):
        return '"segment_ids" holds a value other than 0 and 1'
    positions = row["masked_lm_positions"]
    if len(positions) != len(row["masked_lm_ids"]):
        return f'"masked_lm_positions" has {len(positions)} entries and "masked_lm_ids" {len(row["masked_lm_ids"])}'
    if not positions:
        return 'no masked position: the MLM loss is a mean over masked positions'
    if any(not 1 <= p < n for p in positions) or len(set(positions)) != len(positions):
        return f'"masked_lm_positions" must be distinct positions after [CLS] (1..<{n})'
    if row["next_sentence_label"] not in (0, 1):
        return f'"next_sentence_label" is {row["next_sentence_label"]!r}; it is 0 (B follows A) or 1 (B is random)'
    hits = len(row["ngram_ids"])
    if any(len(row[f]) != hits for f in NGRAM_FIELDS):
        return "the n-gram fields (" + ", ".join(NGRAM_FIELDS) + ") differ in length; each has one entry per hit"
    if hits > zen2_torch.NGRAM_SLOTS:
        return f"{hits} n-gram hits, more than the {zen2_torch.NGRAM_SLOTS} n-gram slots"
    for k in range(hits):
        start, length = row["ngram_starts"][k], row["ngram_lengths"][k]
        if not 1 <= row["ngram_ids"][k] < word_size:
            return f'"ngram_ids" has {row["ngram_ids"][k]}, outside the model\'s n-gram ids 1..<{word_size}'
        if length < 1 or start < 0 or start + length > n:
            return f"the n-gram hit at {start} of length {length} does not lie within the {n} tokens"
        if row["ngram_freqs"][k] < 0:
            return f'"ngram_freqs" has {row["ngram_freqs"][k]}; frequencies are not negative'
        if row["ngram_segment_ids"][k] != row["segment_ids"][start]:
            return (f'"ngram_segment_ids" has {row["ngram_segment_ids"][k]} for the hit at {start}, '
                    "not the segment of its first token")
    return None


def read_instances(path, config, max_seq_length):
    """Every instance of an instances.jsonl file, in file order (blank lines skipped); a bad line is
    an InputError naming the file and line."""
    instances = []
    try:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as e:
                    raise InputError(f"{path}:{number}: not JSON ({e.msg} at column {e.colno})") from None
                problem = (instance_problem(row, config.vocab_size, config.word_size, max_seq_length)
                           if isinstance(row, dict) else "not a JSON object")
                if problem:
                    raise InputError(f"{path}:{number}: {problem}")
                instances.append(row)
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read the instances: {e}") from None
    if not instances:
        raise InputError(f"{path}: no instances; pregenerate some first")
    return instances


def collate(instances):
    """(model inputs, targets) of a batch: inputs padded to the longest instance and to 128 n-gram
    slots (ngram_attention_mask 1 on the hits), the fusion matrix of section 4's frequency
    weighting (rows divided by their sum + 1e-10 in float64, used as float32); targets the masked
    positions as (batch indices, positions), their true ids, and the NSP labels."""
    B, T, S = len(instances), max(len(r["input_ids"]) for r in instances), zen2_torch.NGRAM_SLOTS
    input_ids, segment_ids, mask = (np.zeros((B, T), dtype=np.int64) for _ in range(3))
    ngram_ids, ngram_mask, ngram_segments = (np.zeros((B, S), dtype=np.int64) for _ in range(3))
    matrix = np.zeros((B, T, S), dtype=np.float64)
    rows, positions, labels = [], [], []
    for b, r in enumerate(instances):
        n, hits = len(r["input_ids"]), len(r["ngram_ids"])
        input_ids[b, :n], segment_ids[b, :n], mask[b, :n] = r["input_ids"], r["segment_ids"], 1
        ngram_ids[b, :hits], ngram_segments[b, :hits], ngram_mask[b, :hits] = r["ngram_ids"], r["ngram_segment_ids"], 1
        for k, (start, length, freq) in enumerate(zip(r["ngram_starts"], r["ngram_lengths"], r["ngram_freqs"])):
            matrix[b, start:start + length, k] = freq
        rows += [b] * len(r["masked_lm_positions"])
        positions += r["masked_lm_positions"]
        labels += r["masked_lm_ids"]
    matrix /= matrix.sum(axis=-1, keepdims=True) + 1e-10
    inputs = {
        "input_ids": torch.from_numpy(input_ids),
        "token_type_ids": torch.from_numpy(segment_ids),
        "attention_mask": torch.from_numpy(mask),
        "ngram_ids": torch.from_numpy(ngram_ids),
        "ngram_matrix": torch.from_numpy(matrix.astype(np.float32)),
        "ngram_attention_mask": torch.from_numpy(ngram_mask),
        "ngram_token_type_ids": torch.from_numpy(ngram_segments),
    }
    targets = {
        "mlm_positions": (torch.tensor(rows), torch.tensor(positions)),
        "mlm_labels": torch.tensor(labels),
        "nsp_labels": torch.tensor([r["next_sentence_label"] for r in instances]),
    }
    return inputs, targets


def pretraining_losses(model, inputs, targets):
    """(loss, mlm_loss, nsp_loss): cross-entropy averaged over every masked position of the batch
    (the reference's CrossEntropyLoss(ignore_index=-1) over [B*L] labels, -1 off the masks) plus the
    mean NSP cross-entropy."""
    mlm_logits, nsp_logits = model(**inputs, head="pretraining", mlm_positions=targets["mlm_positions"])
    mlm = F.cross_entropy(mlm_logits, targets["mlm_labels"])
    nsp = F.cross_entropy(nsp_logits, targets["nsp_labels"])
    return mlm + nsp, mlm, nsp


# -----------------------------------------------------------------------------
# optimizer and schedule


class Lamb(torch.optim.Optimizer):
    """apex FusedLAMB's arithmetic with its defaults (bias correction, grad averaging, decoupled
    weight decay, use_nvlamb=False), written out in torch since apex is not available. The global
    gradient clipping is the caller's clip_grad_norm_(..., 1.0) (FusedLAMB's own clip at 1.0 then
    changes nothing). At step t, per parameter p with gradient g:
    m <- b1*m + (1-b1)*g; v <- b2*v + (1-b2)*g^2;
    u = (m/(1-b1^t)) / (sqrt(v)/sqrt(1-b2^t) + eps) (+ wd*p when wd > 0);
    p <- p - lr*r*u with the trust ratio r = ||p||/||u|| for decayed parameters (1 when either norm
    is 0), r = 1 for the others."""

    def __init__(self, params, lr, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.01):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            group["step"] = group.get("step", 0) + 1  # FusedLAMB counts steps per group, from 1
            t, (beta1, beta2), eps, decay = group["step"], group["betas"], group["eps"], group["weight_decay"]
            first, second = 1 - beta1 ** t, math.sqrt(1 - beta2 ** t)
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["m"], state["v"] = torch.zeros_like(p), torch.zeros_like(p)
                m, v = state["m"], state["v"]
                m.mul_(beta1).add_(p.grad, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                update = (m / first) / (v.sqrt() / second + eps)
                if decay > 0:
                    update.add_(p, alpha=decay)
                    p_norm, u_norm = torch.linalg.vector_norm(p), torch.linalg.vector_norm(update)
                    update.mul_(torch.where((p_norm > 0) & (u_norm > 0), p_norm / u_norm, torch.ones_like(p_norm)))
                p.sub_(update, alpha=group["lr"])


def lamb(model, learning_rate, weight_decay=0.01):
    """Lamb over the reference's two groups (no decay on biases and LayerNorm)."""
    return Lamb(zen2_torch.parameter_groups(model, weight_decay), lr=learning_rate)


def poly_warmup(step, total, learning_rate, warmup_proportion, degree=0.5):
    """The rate of optimizer step `step` (0-based) under NVIDIA's PolyWarmUpScheduler as the
    reference steps it: progress q = (step+1)/total; lr*q/w while q < w, else lr*(1-q)^degree
    (so the last step's rate is 0)."""
    q = (step + 1) / total
    return learning_rate * q / warmup_proportion if q < warmup_proportion else learning_rate * (1.0 - q) ** degree


# -----------------------------------------------------------------------------
# the loop


def run_length(count, batch_size, epochs=None, max_steps=None):
    """Optimizer steps of a run over `count` instances: max_steps, or every batch of every epoch
    (the last partial batch of each included)."""
    return max_steps if max_steps is not None else epochs * math.ceil(count / batch_size)


def batches(instances, batch_size, steps, shuffle, seed):
    """`steps` batches: epoch after epoch over the instances (file order, or a fresh permutation
    per epoch from a generator seeded with `seed`), the last batch of an epoch partial."""
    generator = torch.Generator().manual_seed(seed)
    given = 0
    while True:
        order = torch.randperm(len(instances), generator=generator).tolist() if shuffle else range(len(instances))
        for start in range(0, len(order), batch_size):
            if given == steps:
                return
            yield [instances[i] for i in order[start:start + batch_size]]
            given += 1


def train(model, instances, batch_size, learning_rate, warmup_proportion, steps, shuffle=True, seed=42,
          on_step=None):
    """Pre-trains `model` in place for `steps` LAMB steps; on_step(record) gets each step's
    {"step", "loss", "mlm_loss", "nsp_loss", "lr"}. Returns the records, the instances of each step,
    and the seconds the steps after the first took (None for a one-step run). A non-finite loss
    stops the run (InputError)."""
    model.train()
    optimizer = lamb(model, learning_rate)
    records, sizes, started = [], [], None
    for s, batch in enumerate(batches(instances, batch_size, steps, shuffle, seed)):
        if s == 1:
            started = time.perf_counter()
        rate = poly_warmup(s, steps, learning_rate, warmup_proportion)
        for group in optimizer.param_groups:
            group["lr"] = rate
        inputs, targets = collate(batch)
        loss, mlm, nsp = pretraining_losses(model, inputs, targets)
        if not math.isfinite(loss.item()):
            raise InputError(f"step {s + 1}: the loss is {loss.item()}; lower --learning-rate or check the instances")
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        record = {"step": s + 1, "loss": loss.item(), "mlm_loss": mlm.item(), "nsp_loss": nsp.item(), "lr": rate}
        records.append(record)
        sizes.append(len(batch))
        if on_step:
            on_step(record)
    return records, sizes, (time.perf_counter() - started if started is not None else None)


def load_for_pretraining(directory, dropout=None):
    """(model, config) from a checkpoint directory, with MLM/NSP heads (initialised BERT's way
    from torch's global generator when the checkpoint has none), the decoder tied."""
    try:
        model, config = zen2_torch.load(directory)
    except (OSError, RuntimeError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"{directory}: cannot load the checkpoint: {e}") from None
    zen2_torch.add_pretraining_heads(model, config)
    if dropout is not None:
        zen2_torch.set_dropout(model, dropout)
    return model, config


def save(model, source, output):
    """A model directory at `output` (which must not exist yet): config.json, vocab.txt and ngram.txt
    of `source`, model.safetensors without the decoder weight when it is tied. Written into
    a scratch directory beside it and renamed when complete."""
    from safetensors.torch import save_file
    output = os.path.abspath(output)
    scratch = tempfile.mkdtemp(prefix=f".{os.path.basename(output)}.partial-", dir=os.path.dirname(output))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(scratch, 0o777 & ~umask)  # mkdtemp's directory is private; the model is not
    for name in ("config.json", "vocab.txt", "ngram.txt"):
        shutil.copy(os.path.join(source, name), scratch)
    tied = model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()
             if not (tied and k == "cls.predictions.decoder.weight")}
    save_file(state, os.path.join(scratch, "model.safetensors"))
    os.rename(scratch, output)


def parse_arguments(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="checkpoint directory (heads initialised if absent)")
    p.add_argument("--instances", required=True, help="instances.jsonl (spec section 7)")
    p.add_argument("--batch-size", type=int, required=True)
    p.add_argument("--learning-rate", type=float, required=True)
    p.add_argument("--warmup-proportion", type=float, required=True)
    length = p.add_mutually_exclusive_group(required=True)
    length.add_argument("--epochs", type=int)
    length.add_argument("--max-steps", type=int)
    p.add_argument("--max-seq-length", type=int, default=128, help="the longest instance allowed (default 128)")
    p.add_argument("--no-shuffle", action="store_true", help="batches in file order")
    p.add_argument("--seed", type=int, default=42, help="head initialisation, shuffling and dropout (default 42)")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: every core)")
    p.add_argument("--dropout", type=float, help="every dropout probability (default: the config's)")
    p.add_argument("--log", help="train_log.jsonl to write (must not exist)")
    p.add_argument("--save", help="model directory to write at the end (must not exist)")
    a = p.parse_args(argv)
    for option, value, low in (("--batch-size", a.batch_size, 1), ("--epochs", a.epochs, 1),
                               ("--max-steps", a.max_steps, 1), ("--max-seq-length", a.max_seq_length, 2),
                               ("--threads", a.threads, 1)):
        if value is not None and value < low:
            p.error(f"{option} is {value}; it must be at least {low}")
    if not a.learning_rate > 0:
        p.error(f"--learning-rate is {a.learning_rate}; it must be positive")
    if not 0 <= a.warmup_proportion < 1:
        p.error(f"--warmup-proportion is {a.warmup_proportion}; it is a fraction of the run, 0 <= w < 1")
    if a.dropout is not None and not 0 <= a.dropout < 1:
        p.error(f"--dropout is {a.dropout}; it must be in [0, 1)")
    if a.save and os.path.exists(a.save):
        p.error(f"--save {a.save} exists; remove it or choose another directory")
    if a.save and not os.path.isdir(os.path.dirname(os.path.abspath(a.save))):
        p.error(f"--save {a.save}: its parent directory does not exist")
    return a


def main(argv=None):
    a = parse_arguments(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    try:
        model, config = load_for_pretraining(a.model, a.dropout)
        instances = read_instances(a.instances, config, a.max_seq_length)
        steps = run_length(len(instances), a.batch_size, a.epochs, a.max_steps)
        try:
            log = open(a.log, "x", encoding="utf-8") if a.log else None
        except OSError as e:
            raise InputError(f"--log {a.log}: {e.strerror}; remove it or choose another file") from None

        def write(record):
            if log:
                log.write(json.dumps(record) + "\n")
                log.flush()

        start = time.perf_counter()
        try:
            records, sizes, timed = train(model, instances, a.batch_size, a.learning_rate, a.warmup_proportion, steps,
                                   not a.no_shuffle, a.seed, write)
        finally:
            if log:
                log.close()
        seconds = time.perf_counter() - start
        if a.save:
            save(model, a.model, a.save)
    except InputError as e:
        print(f"zen2_pretrain_torch: error: {e}", file=sys.stderr)
        return 1
    print(json.dumps({"steps": len(records), "instances": sum(sizes), "seconds": seconds,
                      "instances_per_second": sum(sizes[1:]) / timed if timed else None,
                      "final_loss": records[-1]["loss"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
