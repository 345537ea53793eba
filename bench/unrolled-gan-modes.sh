#!/bin/bash
# Unrolled GAN (K = 5) vs plain GAN on the same budget (issue 11): MNIST, every class, a seeded
# subset of 2,000 training images, 16 px, widths 16, nz 32, batch 64, 10 epochs (310 steps),
# Adam 2e-4 (0.5, 0.999), non-saturating loss; then bench/unrolled-gan-modes.ts measures mode
# coverage of 10,000 samples of each with the MNIST quality classifier.
#   bench/unrolled-gan-modes.sh [out-folder (default runs/unrolled-vs-gan)] [seeds (default "0")]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/unrolled-vs-gan}
seeds=${2:-0}
for seed in $seeds; do
  for m in gan unrolled-gan; do
    nice -n 10 node --import tsx src/cli/main.ts train $m --data mnist --train-limit 2000 --epochs 10 --batch-size 64 \
      --image-size 16 --ngf 16 --ndf 16 --nz 32 --threads 2 --seed "$seed" --out "$out/$m-s$seed" --force --quiet --device cpu
  done
done
nice -n 10 node --import tsx bench/unrolled-gan-modes.ts "$out"/*-s*
