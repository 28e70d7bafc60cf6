#!/usr/bin/env bash
# README's long-sentence table: a segmentation model trained at max_seq_length 256 (as
# real_data.sh trains cws-frequency) scored on the held-out sentences longer than 126 characters
# (dev and test of peoples-daily-cws, unsplit) at max_seq_length 128, 256 and 512:
#   - as the reference: truncated, the n-gram cap at max_seq_length, only the part that fits
#     scored (--long-texts truncate --ngram-cap reference: what zen did before);
#   - whole sentences in windows, the reference's n-gram cap (--ngram-cap reference);
#   - whole sentences in windows, the cap at the trained length (the defaults).
#
#   swift build -c release && scripts/long_sentences.sh runs/cws-frequency [OUT]
#
# A model without max_seq_length in its config.json (trained before zen finetune wrote it) is
# used through a copy that says TRAINED (default 256).
set -euo pipefail
ZEN=${ZEN:-.build/release/zen}
SHARED=${SHARED:-../shared}
MODEL=$1
OUT=${2:-runs/long-sentences}
TRAINED=${TRAINED:-256}
mkdir -p "$OUT"

python3 - "$SHARED/data/peoples-daily-cws" "$OUT/long.char.bmes" <<'PY'
import sys
source, output = sys.argv[1:]
count = 0
with open(output, "w", encoding="utf-8") as out:
    for split in ("dev", "test"):
        with open(f"{source}/{split}.char.bmes", encoding="utf-8") as f:
            for sentence in f.read().split("\n\n"):
                lines = [line for line in sentence.split("\n") if line.strip()]
                if len(lines) > 126:
                    out.write("\n".join(lines) + "\n\n")
                    count += 1
print(f"{count} held-out sentences longer than 126 characters", file=sys.stderr)
PY

model=$MODEL
if ! grep -q '"max_seq_length"' "$MODEL/config.json"; then
    model=$OUT/model
    mkdir -p "$model"
    for file in vocab.txt ngram.txt model.safetensors; do ln -sf "$(realpath "$MODEL/$file")" "$model/$file"; done
    python3 - "$MODEL/config.json" "$model/config.json" "$TRAINED" <<'PY'
import json, sys
source, target, length = sys.argv[1:]
config = json.load(open(source, encoding="utf-8"))
config["max_seq_length"] = int(length)
json.dump(config, open(target, "w", encoding="utf-8"), ensure_ascii=False)
PY
fi

# F1 and the number of gold words scored.
evaluate() {
    "$ZEN" evaluate --model "$model" --task ner --data "$OUT/long.char.bmes" "$@" \
        | python3 -c 'import json, sys; result = json.load(sys.stdin); print("%.4f %d" % (result["f1"], result["gold"]))'
}
echo "| max_seq_length | as the reference: truncated, its n-gram cap (words scored) | whole, in windows, the reference's n-gram cap | whole, in windows, the n-gram cap of the trained length (zen now) |"
echo "|---|---|---|---|"
for length in 128 256 512; do
    read -r before scored < <(evaluate --max-seq-length $length --long-texts truncate --ngram-cap reference)
    read -r reference words < <(evaluate --max-seq-length $length --ngram-cap reference)
    read -r trained _ < <(evaluate --max-seq-length $length)
    echo "| $length | $before ($scored of $words) | $reference | $trained |"
done
