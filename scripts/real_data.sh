#!/usr/bin/env bash
# README's real-data table: a new small ZEN 2.0 (hidden 256, 4 character + 2 n-gram layers,
# 4 heads, intermediate 1024, the 50,000 most frequent jieba words, or all of them for
# sentiment; random init, no pre-training), fine-tuned on each task with the n-grams (frequency weighting) and without
# them (an all-zero fusion matrix), then scored on the test split. Sentiment is trained from three
# seeds (42, 43, 44: BERT's random restarts); its row is the seed with the best dev accuracy. Runs one after another on
# the machine's cores; each run's wall time goes to RUN/seconds, the test scores to RUN/test.json.
#
#   swift build -c release && scripts/real_data.sh runs [NAME ...]
#
# With names (e.g. ner-frequency cws-none), only those runs, in that order.
#
# From a pre-trained model (scripts/pretrain_real.sh) instead of a new one, same recipes and seeds:
#
#   PRETRAINED=runs/pretrain/pretrained-pmi scripts/real_data.sh runs/from-pmi
#
# FINETUNE_ARGS adds options to every `zen finetune` (e.g. "--ngram-attention-mask false").
set -euo pipefail
ZEN=${ZEN:-.build/release/zen}
SHARED=${SHARED:-../shared}
OUT=${1:-runs}
shift || true
ONLY=("$@")
DATA=$SHARED/data
mkdir -p "$OUT/data"
if [ -n "${PRETRAINED:-}" ]; then
    [ -f "$PRETRAINED/model.safetensors" ] || { echo "PRETRAINED=$PRETRAINED: no model.safetensors there" >&2; exit 1; }
    for model in small small-full; do
        [ -e "$OUT/$model" ] || ln -s "$(realpath "$PRETRAINED")" "$OUT/$model"
        [ "$(realpath "$OUT/$model")" = "$(realpath "$PRETRAINED")" ] || {
            echo "$OUT/$model is another model than PRETRAINED=$PRETRAINED: use a new output directory" >&2; exit 1; }
    done
fi
read -r -a EXTRA <<< "${FINETUNE_ARGS:-}"
[ -f "$OUT/small/model.safetensors" ] || "$ZEN" init --output "$OUT/small" --vocab "$DATA/bert-base-chinese-vocab.txt" \
    --ngrams "$DATA/ngram/jieba-ngram.txt" --ngram-limit 50000 --seed 42
# Sentiment does best (by dev accuracy) with the whole lexicon, all 336,471 words.
[ -f "$OUT/small-full/model.safetensors" ] || "$ZEN" init --output "$OUT/small-full" --vocab "$DATA/bert-base-chinese-vocab.txt" \
    --ngrams "$DATA/ngram/jieba-ngram.txt" --seed 42
# Long sentences are split where no word or entity continues, so every character is trained
# on and scored (the reference would truncate them and score only their first part).
for split in train dev test; do
    python3 scripts/split_sentences.py --max-chars 126 "$DATA/peoples-daily-ner/$split.char.bio" "$OUT/data/ner-$split.char.bio"
    python3 scripts/split_sentences.py --max-chars 254 "$DATA/peoples-daily-cws/$split.char.bmes" "$OUT/data/cws-$split.char.bmes"
done

# run NAME MODEL TASK TRAIN DEV TEST MAX_SEQ_LENGTH WEIGHTING FLAG...
run() {
    local name=$1 model=$2 task=$3 train=$4 dev=$5 test=$6 length=$7 weighting=$8
    shift 8
    [ -f "$OUT/$name/test.json" ] && return
    local start=$(date +%s)
    "$ZEN" finetune --model "$OUT/$model" --task "$task" --train "$train" --dev "$dev" --output "$OUT/$name" --overwrite \
        --max-seq-length "$length" --batch-size 32 --warmup-ratio 0.1 --weighting "$weighting" "$@" "${EXTRA[@]}" \
        > "$OUT/$name.out" 2> "$OUT/$name.err"
    echo $(( $(date +%s) - start )) > "$OUT/$name/seconds"
    # test.json marks the run done, so it appears only whole.
    "$ZEN" evaluate --model "$OUT/$name" --task "$task" --data "$test" --max-seq-length "$length" > "$OUT/$name/test.json.partial"
    mv "$OUT/$name/test.json.partial" "$OUT/$name/test.json"
    echo "$name: $(cat "$OUT/$name/seconds") s, test $(cat "$OUT/$name/test.json")"
}

# The sentiment recipe is the best by dev accuracy of scripts/sweep_classification.py's sweep.
sentiment() {
    for seed in 42 43 44; do
        run "sentiment-$1-seed$seed" small-full classification "$DATA/sentiment/train.json" "$DATA/sentiment/dev.json" \
            "$DATA/sentiment/test.json" 256 "$1" --seed $seed --learning-rate 1e-4 --dropout 0.3 --epochs 3 --label-smoothing 0.1 --eval-every 100
    done
    python3 - "$OUT" "$1" <<'PY'
import json, sys
out, weighting = sys.argv[1:]
def best_dev(seed):
    with open(f"{out}/sentiment-{weighting}-seed{seed}/eval_log.jsonl", encoding="utf-8") as f:
        return max(json.loads(line)["dev"]["accuracy"] for line in f)
seed = max((42, 43, 44), key=best_dev)
print(f"sentiment-{weighting}: seed {seed} has the best dev accuracy, {best_dev(seed):.4f}")
PY
}
ner() {
    run "ner-$1" small ner "$OUT/data/ner-train.char.bio" "$OUT/data/ner-dev.char.bio" "$OUT/data/ner-test.char.bio" 128 "$1" \
        --seed 42 --learning-rate 5e-4 --epochs 3
}
cws() {
    run "cws-$1" small ner "$OUT/data/cws-train.char.bmes" "$OUT/data/cws-dev.char.bmes" "$OUT/data/cws-test.char.bmes" 256 "$1" \
        --seed 42 --learning-rate 5e-4 --epochs 2
}

NAMES=("${ONLY[@]:-sentiment-frequency ner-frequency cws-frequency sentiment-none ner-none cws-none}")
for name in ${NAMES[@]}; do
    "${name%-*}" "${name##*-}"
done
