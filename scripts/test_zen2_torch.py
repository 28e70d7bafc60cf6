"""zen2_torch against the reference fixtures in ../shared/fixtures/models/ (tolerance 1e-4).

The inputs come from zen's own feature builder (`zen features`), so build it first:

    swift build -c release
    python3 -m pytest -q scripts/test_zen2_torch.py

Every model runs all its cases as one batch padded to the expected.json's max_seq_length, so
the padding masks are exercised too.
"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zen2_torch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
MODELS = os.path.join(SHARED, "fixtures", "models")
ZEN = os.path.join(ROOT, ".build", "release", "zen")
ATOL = 1e-4


def expected(name):
    with open(os.path.join(MODELS, name, "expected.json"), encoding="utf-8") as f:
        return json.load(f)


def features(tmp_path, name, cases, task, max_seq_length, weighting="frequency", directory=None):
    """The padded batch zen features builds for the cases (their text/text_pair or chars) with
    the vocabulary and n-grams of fixture model `name` (or of `directory`), and the number of
    real tokens of each."""
    if not os.path.exists(ZEN):
        pytest.fail(f"{ZEN} is missing: run `swift build -c release` in {ROOT}")
    keys = ("chars",) if task == "token" else ("text", "text_pair")
    source, target = tmp_path / f"{name}-{weighting}.in.jsonl", tmp_path / f"{name}-{weighting}.out.jsonl"
    source.write_text("".join(json.dumps({k: c[k] for k in keys if k in c}, ensure_ascii=False) + "\n" for c in cases),
                      encoding="utf-8")
    subprocess.run([ZEN, "features", "--model", directory or os.path.join(MODELS, name), "--task", task,
                    "--max-seq-length", str(max_seq_length), "--weighting", weighting,
                    "--input", str(source), "--output", str(target)], check=True)
    rows = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    B, L = len(rows), max_seq_length
    batch = {
        "input_ids": torch.zeros(B, L, dtype=torch.int64),
        "token_type_ids": torch.zeros(B, L, dtype=torch.int64),
        "attention_mask": torch.zeros(B, L, dtype=torch.int64),
        "ngram_ids": torch.zeros(B, zen2_torch.NGRAM_SLOTS, dtype=torch.int64),
        "ngram_matrix": torch.zeros(B, L, zen2_torch.NGRAM_SLOTS),
    }
    for b, row in enumerate(rows):
        n = len(row["input_ids"])
        batch["input_ids"][b, :n] = torch.tensor(row["input_ids"])
        batch["token_type_ids"][b, :n] = torch.tensor(row["segment_ids"])
        batch["attention_mask"][b, :n] = 1
        batch["ngram_ids"][b, :len(row["ngram_ids"])] = torch.tensor(row["ngram_ids"], dtype=torch.int64)
        for i, j, value in row["ngram_matrix"]:
            batch["ngram_matrix"][b, i, j] = value
    return batch, [len(row["input_ids"]) for row in rows]


def run(name, batch, head, directory=None):
    model, _ = zen2_torch.load(directory or os.path.join(MODELS, name))
    with torch.inference_mode():
        return model(**batch, head=head)


def close(actual, want):
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), np.asarray(want, dtype=np.float64),
                               rtol=0, atol=ATOL)


def test_base_encoder(tmp_path):
    e = expected("zen2-tiny-base")
    batch, lengths = features(tmp_path, "zen2-tiny-base", e["cases"], "sequence", e["max_seq_length"])
    sequence, pooled, layers = run("zen2-tiny-base", batch, "encoder")
    for b, case in enumerate(e["cases"]):
        close(pooled[b], case["pooled_output"])
        close(sequence[b, :lengths[b]], case["sequence_output"])
        close([layer[b, 0] for layer in layers], case["layer_outputs_first_token"])


@pytest.mark.parametrize("name, weighting, key", [
    ("zen2-tiny-cls", "frequency", "logits"),
    ("zen2-tiny-cls", "reference-sequence", "logits_reference_sequence"),
    ("zen2-tiny-cls-fp16", "frequency", "logits"),
])
def test_sequence_classifier(tmp_path, name, weighting, key):
    e = expected(name)
    batch, _ = features(tmp_path, name, e["cases"], "sequence", e["max_seq_length"], weighting)
    close(run(name, batch, "sequence"), [case[key] for case in e["cases"]])


@pytest.mark.parametrize("weighting, key", [("frequency", "logits"), ("reference-token", "logits_reference_token")])
def test_token_classifier(tmp_path, weighting, key):
    e = expected("zen2-tiny-ner")
    batch, lengths = features(tmp_path, "zen2-tiny-ner", e["cases"], "token", e["max_seq_length"], weighting)
    logits = run("zen2-tiny-ner", batch, "token")
    for b, case in enumerate(e["cases"]):
        close(logits[b, :lengths[b]], case[key])


def without_decoder(tmp_path):
    """The MLM checkpoint as model.safetensors (float16, LayerNorm.gamma/beta) without the decoder
    weight, which is tied to the character embeddings."""
    source, target = os.path.join(MODELS, "zen2-tiny-mlm"), tmp_path / "untied"
    target.mkdir()
    for name in ("config.json", "vocab.txt", "ngram.txt"):
        shutil.copy(os.path.join(source, name), target)
    state = torch.load(os.path.join(source, "pytorch_model.bin"), map_location="cpu", weights_only=True)
    del state["cls.predictions.decoder.weight"]
    save_file({k: v.contiguous() for k, v in state.items()}, str(target / "model.safetensors"))
    return str(target)


@pytest.mark.parametrize("untied", [False, True], ids=["as-saved", "decoder-absent"])
def test_pretraining_heads(tmp_path, untied):
    e = expected("zen2-tiny-mlm")
    batch, _ = features(tmp_path, "zen2-tiny-mlm", e["cases"], "sequence", e["max_seq_length"])
    mlm, nsp = run("zen2-tiny-mlm", batch, "pretraining", without_decoder(tmp_path) if untied else None)
    for b, case in enumerate(e["cases"]):
        positions = case["mask_positions"]
        assert [i for i, t in enumerate(batch["input_ids"][b].tolist()) if t == 103] == positions  # [MASK]
        close(mlm[b, positions], np.reshape(case["mask_logits"], (len(positions), mlm.shape[-1])))
        close(nsp[b], case["nsp_logits"])


def test_synthetic_batch():
    s = zen2_torch.synthetic_batch(batch=2, max_seq_length=10, real_length=7, ngrams=3, word_size=5000)
    assert s["input_ids"].tolist() == [
        [101, 672 + 7919, 672 + 15838, 672 + 3757, 672 + 11676, 672 + 19595, 102, 0, 0, 0],
        [101, 672 + 8050, 672 + 15969, 672 + 3888, 672 + 11807, 672 + 19726, 102, 0, 0, 0],
    ]
    assert s["token_type_ids"].tolist() == [[0] * 10] * 2
    assert s["attention_mask"].tolist() == [[1] * 7 + [0] * 3] * 2
    # starts 1 + (2k mod 4) = 1, 3, 1; ids 1 + ((7b + 104729k) mod 4999); frequencies 1, 2, 3
    assert s["ngram_ids"].tolist() == [[1, 4750, 4500] + [0] * 125, [8, 4757, 4507] + [0] * 125]
    m = s["ngram_matrix"]
    assert m.shape == (2, 10, 128) and m.dtype == torch.float32
    want = np.zeros((10, 128))
    want[1, [0, 2]] = [1 / 4, 3 / 4]
    want[2, [0, 2]] = [1 / 4, 3 / 4]
    want[3, 1] = want[4, 1] = 1
    for b in range(2):
        np.testing.assert_allclose(m[b].numpy(), want, rtol=1e-6, atol=0)


def test_bench_fields(tmp_path):
    model = tmp_path / "tiny"
    subprocess.run([sys.executable, os.path.join(SHARED, "tools", "make_checkpoint.py"), str(model), "--size", "tiny"],
                   check=True, capture_output=True)
    result = zen2_torch.bench(str(model), batch=2, max_seq_length=16, real_length=8, ngrams=3, iterations=2, threads=1)
    assert set(result) == {"seq_per_s", "batch_ms_p50", "batch_ms_p90", "load_s", "peak_rss_mb", "gflops",
                           "flops_per_batch"}
    assert all(value > 0 for value in result.values())
    assert result["batch_ms_p50"] <= result["batch_ms_p90"]


def test_finetuned_output_loads_in_pytorch(tmp_path):
    """`zen finetune` on the training fixture writes a directory that PyTorch loads and that
    gives the reference's final logits."""
    fixture = os.path.join(SHARED, "fixtures", "training", "tiny-cls-finetune")
    with open(os.path.join(fixture, "expected.json"), encoding="utf-8") as f:
        want = json.load(f)
    h = want["hyperparameters"]
    output = tmp_path / "tuned"
    subprocess.run([ZEN, "finetune", "--model", os.path.join(fixture, "init"), "--task", "classification",
                    "--train", os.path.join(fixture, "train.json"), "--output", str(output),
                    "--max-seq-length", str(h["max_seq_length"]), "--batch-size", str(h["batch_size"]),
                    "--learning-rate", str(h["learning_rate"]), "--weight-decay", str(h["weight_decay"]),
                    "--warmup-ratio", str(h["warmup_ratio"]), "--epochs", str(h["epochs"]), "--dropout", "0",
                    "--no-shuffle"], check=True, capture_output=True)
    cases = [{"text": text} for text in want["texts"]]
    inputs, _ = features(tmp_path, "tuned", cases, "sequence", h["max_seq_length"], directory=str(output))
    model, config = zen2_torch.load(str(output))
    assert config.num_labels == 2
    with torch.inference_mode():
        logits = model(**inputs, head="sequence")
    np.testing.assert_allclose(logits.numpy(), np.asarray(want["final_logits"]), rtol=0, atol=1e-3)
