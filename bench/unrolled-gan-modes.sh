#!/bin/bash
# Unrolled GAN (K = 5) vs plain GAN on the same budget (issue 11): MNIST, every class, a seeded
# subset of 2,000 training images, 16 px, widths 16, nz 32, batch 64, 10 epochs (310 steps),
# Adam 2e-4 (0.5, 0.999); then bench/unrolled-gan-modes.ts measures mode coverage of 10,000
# samples of each with the MNIST quality classifier. Three runs per seed: gan (non-saturating
# loss), unrolled-gan with its defaults (Adam look-ahead, the value surrogate -L_D(theta^K)), and
# unrolled-gan with `--unroll-surrogate generator` (gan's non-saturating loss on the fakes only
# under theta^K: the default before issue 11's fix, which collapses to a grey image).
#   bench/unrolled-gan-modes.sh [out-folder (default runs/unrolled-vs-gan)] [seeds (default "0")]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/unrolled-vs-gan}
seeds=${2:-0}
common=(--data mnist --train-limit 2000 --epochs 10 --batch-size 64 --image-size 16 --ngf 16 --ndf 16 --nz 32 --threads 2 --force --quiet --device cpu)
for seed in $seeds; do
  nice -n 10 node --import tsx src/cli/main.ts train gan "${common[@]}" --seed "$seed" --out "$out/gan-s$seed"
  nice -n 10 node --import tsx src/cli/main.ts train unrolled-gan "${common[@]}" --seed "$seed" --out "$out/unrolled-gan-s$seed"
  nice -n 10 node --import tsx src/cli/main.ts train unrolled-gan "${common[@]}" --unroll-surrogate generator --seed "$seed" --out "$out/unrolled-gan-generator-s$seed"
done
nice -n 10 node --import tsx bench/unrolled-gan-modes.ts "$out"/*-s*
