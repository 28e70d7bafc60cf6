"""zen2_torch against the reference fixtures in ../shared/fixtures/models/ (tolerance 1e-4), and
zen2_pretrain_torch against ../shared/fixtures/training/tiny-pretrain (spec section 7).

The models' inputs come from zen's own feature builder (`zen features`), so build it first
(the pre-training tests read the fixture's pregenerated instances and need no zen):

    swift build -c release
    python3 -m pytest -q scripts/test_zen2_torch.py

Every model runs all its cases as one batch padded to the expected.json's max_seq_length, so
the padding masks are exercised too.
"""
import json
import os
import random
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_pretrain  # noqa: E402
import zen2_pretrain_torch  # noqa: E402
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


# -----------------------------------------------------------------------------
# pre-training (spec section 7) against fixtures/training/tiny-pretrain


PRETRAIN = os.path.join(SHARED, "fixtures", "training", "tiny-pretrain")


def pretrain_expected():
    with open(os.path.join(PRETRAIN, "expected.json"), encoding="utf-8") as f:
        return json.load(f)


def pretrain_fixture():
    """(model with dropout 0, config, instances, expected.json) of the tiny-pretrain fixture."""
    e = pretrain_expected()
    model, config = zen2_pretrain_torch.load_for_pretraining(os.path.join(PRETRAIN, "init"), dropout=0.0)
    instances = zen2_pretrain_torch.read_instances(os.path.join(PRETRAIN, "instances.jsonl"), config,
                                                   e["hyperparameters"]["max_seq_length"])
    return model, config, instances, e


def test_pretraining_first_batch_losses_and_gradients():
    model, _, instances, e = pretrain_fixture()
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight  # tied on load
    model.train()
    inputs, targets = zen2_pretrain_torch.collate(instances[:e["hyperparameters"]["batch_size"]])
    loss, mlm, nsp = zen2_pretrain_torch.pretraining_losses(model, inputs, targets)
    for name, value in (("mlm_loss", mlm), ("nsp_loss", nsp), ("loss", loss)):
        assert abs(value.item() - e["first_batch"][name]) <= 1e-5, name
    loss.backward()
    reference = load_file(os.path.join(PRETRAIN, "grads.safetensors"))
    ours = dict(model.named_parameters())  # the tied decoder appears once, as the embeddings
    assert set(ours) == set(reference)
    for name, want in reference.items():
        # relative 1e-3 of the gradient's norm; the key biases' gradients are rounding noise (~1e-9),
        # compared absolutely
        difference = (ours[name].grad.double() - want.double()).norm().item()
        assert difference <= max(1e-3 * want.double().norm().item(), 1e-6), name


def test_pretraining_run_matches_reference(tmp_path):
    """The 9 LAMB steps through the command line: the logged losses and rates, and the saved
    model's MLM logits at the first batch's masked positions."""
    e = pretrain_expected()
    h = e["hyperparameters"]
    log, saved = tmp_path / "train_log.jsonl", tmp_path / "pretrained"
    code = zen2_pretrain_torch.main([
        "--model", os.path.join(PRETRAIN, "init"), "--instances", os.path.join(PRETRAIN, "instances.jsonl"),
        "--batch-size", str(h["batch_size"]), "--learning-rate", str(h["learning_rate"]),
        "--warmup-proportion", str(h["warmup_proportion"]), "--epochs", str(h["epochs"]),
        "--max-seq-length", str(h["max_seq_length"]), "--no-shuffle", "--dropout", "0", "--threads", "1",
        "--log", str(log), "--save", str(saved)])
    assert code == 0
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert [r["step"] for r in records] == list(range(1, e["total_steps"] + 1))
    for key, want in (("loss", "step_losses"), ("mlm_loss", "step_mlm_losses"), ("nsp_loss", "step_nsp_losses")):
        np.testing.assert_allclose([r[key] for r in records], e[want], rtol=0, atol=1e-4, err_msg=key)
    np.testing.assert_allclose([r["lr"] for r in records], e["step_lrs"], rtol=0, atol=1e-12)

    assert "cls.predictions.decoder.weight" not in load_file(str(saved / "model.safetensors"))  # tied
    model, config = zen2_torch.load(str(saved))
    instances = zen2_pretrain_torch.read_instances(os.path.join(PRETRAIN, "instances.jsonl"), config,
                                                   h["max_seq_length"])
    inputs, targets = zen2_pretrain_torch.collate(instances[:h["batch_size"]])
    with torch.inference_mode():
        logits, _ = model(**inputs, head="pretraining", mlm_positions=targets["mlm_positions"])
    gold = logits.gather(1, targets["mlm_labels"][:, None])[:, 0]
    np.testing.assert_allclose(gold.numpy(), np.concatenate(e["final_mlm_gold_logits"]), rtol=0, atol=1e-3)
    np.testing.assert_allclose(logits.logsumexp(-1).numpy(), np.concatenate(e["final_mlm_logsumexp"]), rtol=0, atol=1e-3)


def test_pretraining_padding_changes_nothing_at_real_positions():
    """An instance alone (padded to itself) and in a batch with longer ones (padded further)
    gives the same NSP logits and MLM logits at its masked positions."""
    model, _, instances, _ = pretrain_fixture()
    short = min(range(8), key=lambda i: len(instances[i]["input_ids"]))
    with torch.inference_mode():
        alone = model(**zen2_pretrain_torch.collate([instances[short]])[0], head="pretraining")
        together = model(**zen2_pretrain_torch.collate(instances[:8])[0], head="pretraining")
    positions = instances[short]["masked_lm_positions"]
    assert alone[0].shape[1] < together[0].shape[1]
    close(together[0][short, positions], alone[0][0, positions])
    close(together[1][short], alone[1][0])


def test_lamb_trust_ratio_is_one_for_a_zero_parameter():
    """A decayed parameter whose norm is 0 moves by lr*u (trust ratio 1), not by 0."""
    p = torch.nn.Parameter(torch.zeros(3))
    optimizer = zen2_pretrain_torch.Lamb([{"params": [p], "weight_decay": 0.01}], lr=0.1)
    p.grad = torch.tensor([1.0, -2.0, 0.0])
    optimizer.step()
    # step 1: m/(1-0.9) = g, sqrt(v)/sqrt(1-0.999) = |g|, so u = g/(|g|+1e-6)
    np.testing.assert_allclose(p.detach().numpy(), -0.1 * np.array([1 / (1 + 1e-6), -2 / (2 + 1e-6), 0.0]), rtol=1e-6)


def test_missing_heads_are_initialised_as_bert_does():
    """A bare encoder gets MLM/NSP heads: normal(0, initializer_range) weights, zero biases,
    LayerNorm 1/0, the decoder tied to the character embeddings."""
    torch.manual_seed(0)
    model, config = zen2_pretrain_torch.load_for_pretraining(os.path.join(MODELS, "zen2-tiny-base"))
    heads = model.cls
    assert heads.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
    for weight in (heads.predictions.transform.dense.weight, heads.seq_relationship.weight):
        assert abs(weight.std().item() - config.initializer_range) < 0.25 * config.initializer_range
    for bias in (heads.predictions.bias, heads.predictions.transform.dense.bias, heads.seq_relationship.bias,
                 heads.predictions.transform.LayerNorm.bias):
        assert not bias.detach().any()
    assert bool((heads.predictions.transform.LayerNorm.weight == 1).all())


def write_lines(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")


@pytest.mark.parametrize("change, message", [
    (lambda r: r.pop("masked_lm_ids"), 'no "masked_lm_ids" field'),
    (lambda r: r.update(masked_lm_positions=[0] + r["masked_lm_positions"][1:]), '"masked_lm_positions" must be'),
    (lambda r: r.update(input_ids=r["input_ids"] + [0] * 10, segment_ids=r["segment_ids"] + [1] * 10),
     "more than --max-seq-length 64"),
    (lambda r: r.update(ngram_segment_ids=[1 - s for s in r["ngram_segment_ids"]]), '"ngram_segment_ids" has'),
    (lambda r: r.update(ngram_ids=r["ngram_ids"][1:]), "differ in length"),
    (lambda r: r.update(next_sentence_label=2), '"next_sentence_label" is 2'),
    (lambda r: r.update(input_ids=[99999] + r["input_ids"][1:]), "outside the model's vocabulary"),
])
def test_bad_instance_names_file_line_and_field(tmp_path, change, message):
    _, config, _, _ = pretrain_fixture()
    with open(os.path.join(PRETRAIN, "instances.jsonl"), encoding="utf-8") as f:
        rows = [json.loads(line) for line in f][:3]
    change(rows[1])
    path = tmp_path / "instances.jsonl"
    write_lines(path, rows)
    with pytest.raises(zen2_pretrain_torch.InputError, match=f"{path}:2: .*{re.escape(message)}"):
        zen2_pretrain_torch.read_instances(str(path), config, 64)


def test_pretrain_command_refuses_an_existing_log_and_writes_nothing(tmp_path, capsys):
    log = tmp_path / "train_log.jsonl"
    log.write_text("kept\n", encoding="utf-8")
    code = zen2_pretrain_torch.main([
        "--model", os.path.join(PRETRAIN, "init"), "--instances", os.path.join(PRETRAIN, "instances.jsonl"),
        "--batch-size", "8", "--learning-rate", "0.02", "--warmup-proportion", "0.2", "--max-steps", "1",
        "--max-seq-length", "64", "--log", str(log), "--save", str(tmp_path / "out")])
    assert code == 1
    assert f"--log {log}" in capsys.readouterr().err
    assert log.read_text(encoding="utf-8") == "kept\n" and not (tmp_path / "out").exists()


def test_bench_instances_are_valid_training_input(tmp_path):
    """bench_pretrain's throwaway instances pass the loop's checks, mask what they say they mask,
    and their n-gram hits match the lexicon over the masked tokens."""
    init = os.path.join(PRETRAIN, "init")
    vocab = bench_pretrain.read_vocabulary(os.path.join(init, "vocab.txt"))
    lexicon = bench_pretrain.read_lexicon(os.path.join(init, "ngram.txt"))
    with open(os.path.join(SHARED, "data", "corpus", "pretrain.txt"), encoding="utf-8") as f:
        lines = [next(f) for _ in range(200)]
    instances = bench_pretrain.make_instances(vocab, lexicon, lines, 40, 64, random.Random(3))
    _, config, _, _ = pretrain_fixture()
    config.vocab_size = len(vocab)  # the fixture's checkpoint covers fewer ids than its vocab.txt
    assert {r["next_sentence_label"] for r in instances} == {0, 1}
    for r in instances:
        assert zen2_pretrain_torch.instance_problem(r, config.vocab_size, config.word_size, 64) is None
        assert r["tokens"] == [bench_pretrain_token(vocab, i) for i in r["input_ids"]]
        assert 1 <= len(r["masked_lm_positions"]) <= max(1, round(0.15 * (len(r["input_ids"]) - 3)))
        for k, (start, length) in enumerate(zip(r["ngram_starts"], r["ngram_lengths"])):
            assert lexicon[tuple(r["tokens"][start:start + length])][0] == r["ngram_ids"][k]
    zen2_pretrain_torch.collate(instances)  # batches without complaint


def bench_pretrain_token(vocab, token_id):
    return next(t for t, i in vocab.items() if i == token_id)
