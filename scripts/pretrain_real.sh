#!/usr/bin/env bash
# README's pre-training runs: the small model of the real-data table (hidden 256, 4 character +
# 2 n-gram layers) pre-trained by zen itself on ../shared/data/corpus/pretrain.txt plus the
# training splits' sentences (scripts/pretrain_corpus.py; never a dev or test sentence), once
# with the PMI lexicon that `zen lexicon` builds from that text and once with the jieba lexicon
# (its 50,000 most frequent words). Each run can be stopped and continued: run the script again
# and it resumes where the run stopped (zen pretrain --resume). RUN.times has each part's start
# and end (a part stopped by a kill ends at its last checkpoint).
#
#   swift build -c release && scripts/pretrain_real.sh runs/pretrain [pmi|jieba ...]
set -euo pipefail
ZEN=${ZEN:-.build/release/zen}
SHARED=${SHARED:-../shared}
OUT=${1:-runs/pretrain}
shift || true
LEXICONS=("${@:-pmi jieba}")
VOCAB=$SHARED/data/bert-base-chinese-vocab.txt
EPOCHS=${EPOCHS:-3}
mkdir -p "$OUT"
[ -f "$OUT/corpus/train.txt" ] || python3 scripts/pretrain_corpus.py --shared "$SHARED" --output "$OUT/corpus"
[ -f "$OUT/pmi-ngram.txt" ] || "$ZEN" lexicon --corpus "$OUT/corpus/train.txt" --vocab "$VOCAB" --output "$OUT/pmi-ngram.txt"

for lexicon in ${LEXICONS[@]}; do
    init=$OUT/init-$lexicon
    if [ ! -f "$init/model.safetensors" ]; then
        case $lexicon in
            pmi) "$ZEN" init --output "$init" --vocab "$VOCAB" --ngrams "$OUT/pmi-ngram.txt" --seed 42 ;;
            jieba) "$ZEN" init --output "$init" --vocab "$VOCAB" --ngrams "$SHARED/data/ngram/jieba-ngram.txt" --ngram-limit 50000 --seed 42 ;;
        esac
    fi
    [ -f "$OUT/instances-$lexicon/epoch_$((EPOCHS - 1))_metrics.json" ] || "$ZEN" pregenerate --model "$init" --corpus "$OUT/corpus/train.txt" \
        --output "$OUT/instances-$lexicon" --overwrite --max-seq-length 128 --epochs "$EPOCHS" --seed 42
    [ -f "$OUT/heldout-$lexicon/epoch_0_metrics.json" ] || "$ZEN" pregenerate --model "$init" --corpus "$OUT/corpus/heldout.txt" \
        --output "$OUT/heldout-$lexicon" --overwrite --max-seq-length 128 --epochs 1 --seed 7
    run=$OUT/pretrained-$lexicon
    # Finished: the summary is on its standard output.
    [ -s "$run.out" ] && continue
    resume=()
    ls -d "$run"/checkpoint-* > /dev/null 2>&1 && resume=(--resume)
    echo "start $(date +%s)" >> "$run.times"
    "$ZEN" pretrain --model "$init" --instances "$OUT/instances-$lexicon" --output "$run" "${resume[@]}" \
        --batch-size 64 --learning-rate 2e-3 --warmup-proportion 0.05 --seed 42 \
        --eval-instances "$OUT/heldout-$lexicon/epoch_0.jsonl" --eval-every 200 --save-every 10m \
        > "$run.out" 2>> "$run.log"
    echo "end $(date +%s)" >> "$run.times"
    echo "$lexicon: $(cat "$run.out")"
done
