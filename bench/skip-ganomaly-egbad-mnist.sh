#!/usr/bin/env bash
# MNIST leave-one-out (GANomaly's protocol: the digit D is the anomaly, the nine others are
# normal) for skip-ganomaly and egbad through the CLI, at a small budget: 1,000 training images,
# 3 epochs, 32 px, default hyperparameters, 2,000 seeded test images, seed 0. For each digit, each
# detector is trained then evaluated (eval prints its AUROC beside the PCA and kNN pixel floors on
# the same split); wall times go to <out>/times.tsv.
#
#   bash bench/skip-ganomaly-egbad-mnist.sh [digits (default "0 1 2 3 4 5 6 7 8 9")] [out (default runs/bench-skip-egbad)]
set -euo pipefail
digits=${1:-"0 1 2 3 4 5 6 7 8 9"}
out=${2:-runs/bench-skip-egbad}
mkdir -p "$out"
for d in $digits; do
  for det in skip-ganomaly egbad; do
    dir="$out/$det-loo-$d"
    t0=$(date +%s)
    node --import tsx src/cli/main.ts train "$det" --data mnist --protocol leave-one-out --abnormal "$d" \
      --train-limit 1000 --epochs 3 --image-size 32 --seed 0 --out "$dir" --force --quiet
    t1=$(date +%s)
    node --import tsx src/cli/main.ts eval "$dir" --data mnist --protocol leave-one-out --abnormal "$d" \
      --test-limit 2000 --seed 0 --no-report --json "$dir/results.json" --quiet | tee "$dir/eval.txt"
    t2=$(date +%s)
    printf '%s\t%s\t%s\t%s\n' "$det" "$d" "$((t1 - t0))" "$((t2 - t1))" >> "$out/times.tsv"
  done
done
