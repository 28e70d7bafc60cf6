#!/usr/bin/env python3
"""ZEN 2.0 in PyTorch, written the way the reference (sinovation/ZEN2, ZEN2/modeling.py) is:
the speed baseline for zen-swift, checked against the fixtures by test_zen2_torch.py.

The model is ../shared/ZEN2-SPEC.md section 5, batched and padded the way the reference
pipelines feed it: every sequence padded to max_seq_length L, the character attention masked with
-10000 on padded keys, the n-gram attention unmasked over all 128 slots; pre-training (section 7,
zen2_pretrain_torch.py) masks the padded n-gram slots and feeds n-gram segment ids. Differences from the
reference are speed-neutral or faster: nn.LayerNorm and F.gelu (the same formulas, fused), the
relative sinusoid computed per call instead of sliced from a cached table, and the model built
on the meta device so loading does not first fill it with random weights.

    python3 scripts/zen2_torch.py bench --model DIR --batch 8 --max-seq-length 128 --real-length 64 \\
        --ngrams 20 --iterations 5 --threads 2 --precision fp32 [--backend torch|openvino]

prints one JSON line: seq_per_s, batch_ms_p50, batch_ms_p90, load_s, peak_rss_mb, gflops,
flops_per_batch (see bench()).
"""
import argparse
import dataclasses
import json
import math
import os
import resource
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

NGRAM_SLOTS = 128  # max_ngram_in_seq: the n-gram encoder always runs on 128 slots


@dataclasses.dataclass
class ZenConfig:
    hidden_size: int
    num_hidden_layers: int
    num_hidden_word_layers: int
    num_attention_heads: int
    intermediate_size: int
    vocab_size: int
    word_size: int
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    initializer_range: float = 0.02
    num_labels: int | None = None

    @classmethod
    def from_json(cls, path):
        with open(path, encoding="utf-8") as f:
            values = json.load(f)
        config = cls(**{field.name: values[field.name] for field in dataclasses.fields(cls) if field.name in values})
        if config.hidden_act != "gelu":
            raise ValueError(f"{path}: hidden_act {config.hidden_act!r} is not supported, only 'gelu'")
        return config


# -----------------------------------------------------------------------------
# the network


def relative_sinusoid(length, dim, device=None):
    """R(p) for p = -length ... length-1, [2*length, dim]: the reference's position table rows
    [sin(p*w_0) ... sin(p*w_{d/2-1}), cos(p*w_0) ... cos(p*w_{d/2-1})], w_m = exp(-m*ln(10000)/(d/2-1)),
    computed in float32 with the same operations."""
    half = dim // 2
    w = torch.exp(torch.arange(half, dtype=torch.float, device=device) * -(math.log(10000) / (half - 1)))
    angles = torch.arange(-length, length, dtype=torch.float, device=device)[:, None] * w[None, :]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


def shift(scores):
    """[B, n, T, 2T] indexed by query i and distance p + T  ->  [B, n, T, T] indexed by query i and
    key j, taking p = j - i: the reference's _shift (pad a column, reinterpret the rows, slice)."""
    B, n, T, _ = scores.shape
    scores = torch.cat([scores, scores.new_zeros(B, n, T, 1)], dim=-1).view(B, n, 2 * T + 1, T)
    return scores[:, :, :-1].reshape(B, n, T, 2 * T)[:, :, :, T:]


class RelativeSelfAttention(nn.Module):
    """Transformer-XL attention: score(i, j) = ((q_i + r_r_bias)·k_j + (q_i + r_w_bias)·R(j-i)) / sqrt(d).
    (The bias named r_r_bias goes with the content term, r_w_bias with the position term.)"""

    def __init__(self, config):
        super().__init__()
        H, self.n = config.hidden_size, config.num_attention_heads
        self.d = H // self.n
        self.query, self.key, self.value = nn.Linear(H, H), nn.Linear(H, H), nn.Linear(H, H)
        self.r_r_bias = nn.Parameter(torch.empty(self.n, self.d))
        self.r_w_bias = nn.Parameter(torch.empty(self.n, self.d))
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def forward(self, x, mask):
        B, T, H = x.shape
        q, k, v = (f(x).view(B, T, self.n, self.d).transpose(1, 2) for f in (self.query, self.key, self.value))
        R = relative_sinusoid(T, self.d, x.device)
        content = torch.einsum("bnqd,bnkd->bnqk", q + self.r_r_bias[:, None], k)
        position = torch.einsum("bnqd,ld->bnql", q, R) + torch.einsum("nd,ld->nl", self.r_w_bias, R)[None, :, None]
        scores = (content + shift(position)) / math.sqrt(self.d)
        if mask is not None:
            scores = scores + mask
        context = torch.matmul(self.dropout(scores.softmax(dim=-1).type_as(v)), v)
        return context.transpose(1, 2).reshape(B, T, H)


class DenseNorm(nn.Module):
    """LN(residual + dropout(dense(x))): the reference's BertSelfOutput and BertOutput."""

    def __init__(self, inputs, config):
        super().__init__()
        self.dense = nn.Linear(inputs, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, x, residual):
        return self.LayerNorm(residual + self.dropout(self.dense(x)))


class Attention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.self = RelativeSelfAttention(config)
        self.output = DenseNorm(config.hidden_size, config)

    def forward(self, x, mask):
        return self.output(self.self(x, mask), x)


class Intermediate(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)

    def forward(self, x):
        return F.gelu(self.dense(x))  # the exact erf form


class Layer(nn.Module):
    """A = LN(X + Dense_o(Attn(X))), X' = LN(A + Dense_2(GELU(Dense_1(A))))."""

    def __init__(self, config):
        super().__init__()
        self.attention = Attention(config)
        self.intermediate = Intermediate(config)
        self.output = DenseNorm(config.intermediate_size, config)

    def forward(self, x, mask):
        a = self.attention(x, mask)
        return self.output(self.intermediate(a), a)


class Embeddings(nn.Module):
    """dropout(LN(table[ids] + type_table[types])); no absolute positions."""

    def __init__(self, entries, config):
        super().__init__()
        self.word_embeddings = nn.Embedding(entries, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, ids, types):
        return self.dropout(self.LayerNorm(self.word_embeddings(ids) + self.token_type_embeddings(types)))


class Encoder(nn.Module):
    """Character layers and n-gram layers; after every character layer X = X + M·G, the last G
    being reused once the n-gram layers run out."""

    def __init__(self, config):
        super().__init__()
        self.layer = nn.ModuleList([Layer(config) for _ in range(config.num_hidden_layers)])
        self.word_layers = nn.ModuleList([Layer(config) for _ in range(config.num_hidden_word_layers)])

    def forward(self, x, g, matrix, mask, ngram_mask):
        layers = []
        for i, layer in enumerate(self.layer):
            x = layer(x, mask)
            if i < len(self.word_layers):
                g = self.word_layers[i](g, ngram_mask)  # None (fine-tuning, inference): all 128 slots
            x = x + torch.bmm(matrix, g)
            layers.append(x)
        return layers


class Pooler(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, x):
        return torch.tanh(self.dense(x[:, 0]))


def padding_mask(attention_mask):
    """[B, T] 1/0 -> [B, 1, 1, T]: -10000 added to the scores of padded keys."""
    return (1.0 - attention_mask[:, None, None, :].float()) * -10000.0


class ZenModel(nn.Module):
    """The encoder (the checkpoint's `bert.` tensors). Fine-tuning and inference pass neither
    n-gram argument (no n-gram mask, n-gram segment ids all 0); pre-training passes both."""

    def __init__(self, config):
        super().__init__()
        self.embeddings = Embeddings(config.vocab_size, config)
        self.word_embeddings = Embeddings(config.word_size, config)
        self.encoder = Encoder(config)
        self.pooler = Pooler(config)

    def forward(self, input_ids, token_type_ids, attention_mask, ngram_ids, ngram_matrix, ngram_attention_mask=None,
                ngram_token_type_ids=None):
        x = self.embeddings(input_ids, token_type_ids)
        g = self.word_embeddings(ngram_ids, torch.zeros_like(ngram_ids) if ngram_token_type_ids is None else ngram_token_type_ids)
        ngram_mask = None if ngram_attention_mask is None else padding_mask(ngram_attention_mask)
        layers = self.encoder(x, g, ngram_matrix, padding_mask(attention_mask), ngram_mask)
        return layers[-1], self.pooler(layers[-1]), layers


class PredictionTransform(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, x):
        return self.LayerNorm(F.gelu(self.dense(x)))


class LMPredictionHead(nn.Module):
    """decoder(LN(GELU(dense(X)))) + bias; the decoder weight is the character embeddings' own
    parameter (tied, see tie_decoder) unless the checkpoint saved a different one."""

    def __init__(self, config):
        super().__init__()
        self.transform = PredictionTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.empty(config.vocab_size))

    def forward(self, x):
        return self.decoder(self.transform(x)) + self.bias


class PreTrainingHeads(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.predictions = LMPredictionHead(config)
        self.seq_relationship = nn.Linear(config.hidden_size, 2)


class Zen(nn.Module):
    """The encoder and the heads its checkpoint has: `classifier` (sequence or token
    classification) and/or `cls` (MLM + NSP)."""

    def __init__(self, config, classifier, pretraining):
        super().__init__()
        self.bert = ZenModel(config)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels) if classifier else None
        self.cls = PreTrainingHeads(config) if pretraining else None

    def forward(self, input_ids, token_type_ids, attention_mask, ngram_ids, ngram_matrix, head="sequence",
                ngram_attention_mask=None, ngram_token_type_ids=None, mlm_positions=None):
        """head: "encoder" -> (sequence [B,L,H], pooled [B,H], every layer's [B,L,H]);
        "sequence" -> [B, num_labels]; "token" -> [B, L, num_labels];
        "pretraining" -> (MLM logits [B, L, vocab_size], NSP logits [B, 2]), or with mlm_positions
        (batch indices, positions) the MLM logits at those positions only, [N, vocab_size]: what a
        loss over masked positions needs, without the vocabulary projection of every position.
        ngram_attention_mask [B, 128] (1 real slot, 0 padding) and ngram_token_type_ids [B, 128]:
        pre-training's n-gram inputs (ZenModel)."""
        sequence, pooled, layers = self.bert(input_ids, token_type_ids, attention_mask, ngram_ids, ngram_matrix,
                                             ngram_attention_mask, ngram_token_type_ids)
        if head == "encoder":
            return sequence, pooled, layers
        if head == "sequence":
            return self.classifier(self.dropout(pooled))
        if head == "token":
            return self.classifier(self.dropout(sequence))
        if head == "pretraining":
            states = sequence if mlm_positions is None else sequence[mlm_positions]
            return self.cls.predictions(states), self.cls.seq_relationship(pooled)
        raise ValueError(f"unknown head {head!r}")


def parameter_groups(model, weight_decay):
    """The reference's two optimizer groups: weight_decay for every parameter but those whose name
    contains `bias`, `LayerNorm.weight` or `LayerNorm.bias` (so r_r_bias/r_w_bias too), which get 0.
    A tied parameter appears once (named_parameters drops the repeat)."""
    def decays(name):
        return not any(k in name for k in ("bias", "LayerNorm.weight", "LayerNorm.bias"))
    return [{"params": [p for n, p in model.named_parameters() if decays(n)], "weight_decay": weight_decay},
            {"params": [p for n, p in model.named_parameters() if not decays(n)], "weight_decay": 0.0}]


def adamw(model, learning_rate, weight_decay):
    """torch's AdamW with the reference's groups: no decay on biases and LayerNorm."""
    return torch.optim.AdamW(parameter_groups(model, weight_decay), lr=learning_rate, eps=1e-8)


def set_dropout(model, probability):
    """Every dropout of the model to `probability` (zen finetune's --dropout: hidden and attention)."""
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = probability


# -----------------------------------------------------------------------------
# loading


def canonical_name(name):
    """The reference's tensor name: `bert.` prefix on encoder tensors (heads keep theirs, as
    WeightStore.referenceName in Swift), LayerNorm.weight/.bias."""
    if not name.startswith(("bert.", "classifier.", "cls.", "qa_outputs.")):
        name = "bert." + name
    return name.replace(".LayerNorm.gamma", ".LayerNorm.weight").replace(".LayerNorm.beta", ".LayerNorm.bias")


def load(directory):
    """(model, config) from a checkpoint directory: model.safetensors if present, else
    pytorch_model.bin. Tensors become float32. A missing, unexpected or misshapen tensor is an
    error that names it (load_state_dict, strict)."""
    config = ZenConfig.from_json(os.path.join(directory, "config.json"))
    path = os.path.join(directory, "model.safetensors")
    if os.path.exists(path):
        from safetensors.torch import load_file
        state = load_file(path)
    else:
        state = torch.load(os.path.join(directory, "pytorch_model.bin"), map_location="cpu", weights_only=True)
    state = {canonical_name(k): v.float() for k, v in state.items() if ".position_embedding." not in k}
    if "classifier.weight" in state and config.num_labels is None:
        config.num_labels = state["classifier.weight"].shape[0]
    pretraining = "cls.predictions.bias" in state
    embeddings = state.get("bert.embeddings.word_embeddings.weight")
    decoder = state.get("cls.predictions.decoder.weight")
    # The reference ties the decoder to the character embeddings and saves it twice (or not at
    # all): tie it unless the checkpoint saved a decoder of its own.
    tied = pretraining and (decoder is None or (embeddings is not None and torch.equal(decoder, embeddings)))
    if tied and embeddings is not None:
        state["cls.predictions.decoder.weight"] = embeddings  # loaded, then replaced by the tie
    with torch.device("meta"):
        model = Zen(config, classifier="classifier.weight" in state, pretraining=pretraining)
    model.load_state_dict(state, strict=True, assign=True)
    if tied:
        tie_decoder(model)
    return model.eval(), config


def tie_decoder(model):
    """The MLM decoder's weight becomes the character embeddings' parameter itself, so that its
    gradient adds into the embeddings' and an optimizer step moves both (spec section 7)."""
    model.cls.predictions.decoder.weight = model.bert.embeddings.word_embeddings.weight


def add_pretraining_heads(model, config):
    """Give a checkpoint without them (a bare encoder, `zen init`'s model, a classifier) MLM and
    NSP heads initialised as BERT's init_bert_weights does: Linear weights normal(0,
    initializer_range), biases 0, LayerNorm weight 1 and bias 0; the decoder tied. Draws from
    torch's global generator (seed it first). A model that has the heads is left as it is."""
    if model.cls is not None:
        return model
    heads = PreTrainingHeads(config)
    for module in heads.modules():
        if module is heads.predictions.decoder:
            continue  # tied below: its weight is the embeddings'
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=config.initializer_range)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    nn.init.zeros_(heads.predictions.bias)
    model.cls = heads
    tie_decoder(model)
    return model


# -----------------------------------------------------------------------------
# the synthetic batch (zen bench builds exactly the same one)


def synthetic_batch(batch, max_seq_length, real_length, ngrams, word_size):
    """B sequences padded to L with R real tokens and K two-token n-grams each:
    id = 101 at i = 0, 102 at i = R-1, else 672 + ((b*131 + i*7919) mod 20000); types 0; mask 1 on
    the R real positions; n-gram k starts at 1 + (2k mod (R-3)), has id 1 + ((b*7 + k*104729) mod
    (word_size-1)) and frequency 1 + k; ngram_ids padded with 0 to 128; the fusion matrix has the
    frequency on both covered rows, then every row is divided by its sum + 1e-10 (float64)."""
    B, L, R, K = batch, max_seq_length, real_length, ngrams
    if not (4 <= R <= L and 0 <= K <= NGRAM_SLOTS):
        raise ValueError(f"need 4 <= real_length <= max_seq_length and 0 <= ngrams <= {NGRAM_SLOTS}")
    input_ids = np.zeros((B, L), dtype=np.int64)
    attention_mask = np.zeros((B, L), dtype=np.int64)
    ngram_ids = np.zeros((B, NGRAM_SLOTS), dtype=np.int64)
    matrix = np.zeros((B, L, NGRAM_SLOTS), dtype=np.float64)
    for b in range(B):
        for i in range(R):
            input_ids[b, i] = 101 if i == 0 else 102 if i == R - 1 else 672 + (b * 131 + i * 7919) % 20000
        attention_mask[b, :R] = 1
        for k in range(K):
            start = 1 + (2 * k) % (R - 3)
            ngram_ids[b, k] = 1 + (b * 7 + k * 104729) % (word_size - 1)
            matrix[b, start:start + 2, k] = 1 + k
    matrix /= matrix.sum(axis=-1, keepdims=True) + 1e-10
    return {
        "input_ids": torch.from_numpy(input_ids),
        "token_type_ids": torch.zeros(B, L, dtype=torch.int64),
        "attention_mask": torch.from_numpy(attention_mask),
        "ngram_ids": torch.from_numpy(ngram_ids),
        "ngram_matrix": torch.from_numpy(matrix.astype(np.float32)),
    }


# -----------------------------------------------------------------------------
# the benchmark


def flops_per_batch(config, batch, max_seq_length, num_labels):
    """Model FLOPs of one padded batch, 2*m*n*k for every matmul as the reference computes it:
    Q, K, V, O and the feed-forward; the content term, the position term (against 2T distances) and
    its r_w_bias row, and probabilities x values; the n-gram layers on 128 slots; the fusion
    [L,128]x[128,H] after every character layer; the pooler and the sequence classifier."""
    H, I, n = config.hidden_size, config.intermediate_size, config.num_attention_heads
    d = H // n

    def layer(T):
        dense = 2 * T * H * H * 4 + 2 * T * H * I * 2
        attention = n * (2 * T * T * d + 2 * T * (2 * T) * d + 2 * T * T * d)
        return batch * (dense + attention) + n * 2 * (2 * T) * d  # the r_w_bias row is shared by the batch

    L = max_seq_length
    fusion = batch * 2 * L * NGRAM_SLOTS * H
    heads = batch * (2 * H * H + 2 * H * num_labels)
    return (config.num_hidden_layers * (layer(L) + fusion) + config.num_hidden_word_layers * layer(NGRAM_SLOTS)
            + heads)


class Bench(nn.Module):
    """The model with its head fixed and only tensor inputs: what torch.onnx.export traces."""

    def __init__(self, model, head):
        super().__init__()
        self.model, self.head = model, head

    def forward(self, input_ids, token_type_ids, attention_mask, ngram_ids, ngram_matrix):
        out = self.model(input_ids, token_type_ids, attention_mask, ngram_ids, ngram_matrix, head=self.head)
        return out[0] if isinstance(out, tuple) else out


def openvino_model(model, head, inputs, precision, threads):
    """OpenVINO's compiled model of `model`: exported with torch.onnx.export, read by OpenVINO,
    compiled for the CPU with INFERENCE_PRECISION_HINT f32 or bf16; int8 is NNCF's post-training
    quantization (a transformer preset, calibrated on the bench's own batch), compiled f32.
    Also returns the largest deviation of its outputs from the PyTorch model's in fp32."""
    import tempfile
    import openvino as ov
    names = list(inputs)
    with tempfile.TemporaryDirectory() as root:
        path = os.path.join(root, "zen2.onnx")
        torch.onnx.export(Bench(model, head).eval(), tuple(inputs.values()), path, input_names=names,
                          output_names=["output"], opset_version=17, dynamo=False)
        core = ov.Core()
        graph = core.read_model(path)
        if precision == "int8":
            import nncf
            graph = nncf.quantize(graph, nncf.Dataset([{k: v.numpy() for k, v in inputs.items()}]),
                                  model_type=nncf.ModelType.TRANSFORMER, subset_size=1)
        hint = "bf16" if precision == "bf16" else "f32"
        compiled = core.compile_model(graph, "CPU", {"INFERENCE_PRECISION_HINT": hint,
                                                     "INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1})
    request = compiled.create_infer_request()
    feed = {k: v.numpy() for k, v in inputs.items()}
    # The export is checked, not trusted: its outputs against the PyTorch model's own.
    with torch.inference_mode():
        expected = Bench(model, head)(**inputs).numpy()
    deviation = float(np.abs(request.infer(feed)["output"] - expected).max())
    return (lambda: request.infer(feed)), deviation


def bench(directory, batch=8, max_seq_length=128, real_length=64, ngrams=20, iterations=5, threads=2,
          precision="fp32", backend="torch"):
    """Sequence classification (or the bare encoder) on the synthetic batch. load_s runs from the
    start of loading the checkpoint to the end of the first forward pass (the warm-up); the
    iterations after it are timed one batch each: p50 is their lower median, p90 the nearest-rank
    90th percentile. peak_rss_mb is the process's ru_maxrss.

    precision: fp32; bf16 (torch: autocast); int8 (torch: torch.ao dynamic quantization of every
    nn.Linear, per output channel, as zen's). backend openvino: see openvino_model (its load_s
    includes the export and compilation)."""
    if precision not in ("fp32", "bf16", "int8") or backend not in ("torch", "openvino") or iterations < 1:
        raise ValueError("precision must be fp32, bf16 or int8, backend torch or openvino, and iterations at least 1")
    torch.set_num_threads(threads)
    start = time.perf_counter()
    model, config = load(directory)
    model.eval()
    head = "sequence" if model.classifier is not None else "encoder"
    inputs = synthetic_batch(batch, max_seq_length, real_length, ngrams, config.word_size)
    extra = {}
    if backend == "openvino":
        forward, extra["max_abs_vs_torch_fp32"] = openvino_model(model, head, inputs, precision, threads)
    else:
        if precision == "int8":
            from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic
            model = quantize_dynamic(model, {nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)

        def forward():
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
                return model(**inputs, head=head)
    times = []
    forward()
    load_s = time.perf_counter() - start
    for _ in range(iterations):
        t0 = time.perf_counter()
        forward()
        times.append(time.perf_counter() - t0)
    times.sort()
    p50, p90 = times[(iterations - 1) // 2], times[math.ceil(0.9 * iterations) - 1]  # lower median, nearest rank
    flops = flops_per_batch(config, batch, max_seq_length, config.num_labels if head == "sequence" else 0)
    return {
        "seq_per_s": batch / p50,
        "batch_ms_p50": p50 * 1e3,
        "batch_ms_p90": p90 * 1e3,
        "load_s": load_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "gflops": flops / p50 / 1e9,
        "flops_per_batch": flops,
        "backend": backend,
        "precision": precision,
        **extra,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    b = commands.add_parser("bench", help="time the synthetic batch; print one JSON line")
    b.add_argument("--model", required=True, help="checkpoint directory")
    b.add_argument("--batch", type=int, default=8)
    b.add_argument("--max-seq-length", type=int, default=128)
    b.add_argument("--real-length", type=int, default=64)
    b.add_argument("--ngrams", type=int, default=20)
    b.add_argument("--iterations", type=int, default=5)
    b.add_argument("--threads", type=int, default=2)
    b.add_argument("--precision", choices=["fp32", "bf16", "int8"], default="fp32")
    b.add_argument("--backend", choices=["torch", "openvino"], default="torch",
                   help="openvino: the model exported to ONNX and run by OpenVINO (pip install openvino nncf onnx)")
    a = parser.parse_args()
    print(json.dumps(bench(a.model, a.batch, a.max_seq_length, a.real_length, a.ngrams, a.iterations, a.threads,
                           a.precision, a.backend)))


if __name__ == "__main__":
    main()
