#!/usr/bin/env bash
# Issue 11: the generative table. Every generator on MNIST (all classes) at ONE budget, measured
# by `anogen benchmark --suite generative` with the committed MNIST quality classifier: Fréchet
# distance, classifier score, modes covered, KL from uniform, and one 8 x 8 sample grid per row.
#
#   bench/generative-table.sh [16px|32px] [rows]      (default 16px, every row)
#
# The budget is the same for every row of a table (hyperparameters a model does not have are
# not given to it): seeded MNIST training images (all digits), batch 64, seed 0, learning rates
# and everything else at each model's defaults (progan: n_critic 3, its default); GAN family
# (ngf/ndf/nz): widths 16, nz 32; pixelcnn and pixelrnn: hidden 16, output head 32 (pixelcnn
# 3 gated blocks, pixelrnn its 2 Row LSTM layers; their defaults cost 40 s per step here);
# pix2pix: task degrade, sample() translates its probe images (restoration, not generation).
# An epoch is one pass of the data through the discriminator or critic.
#   16px (the README's table): 2,000 images x 10 epochs = 310 steps, 16 px (upsampled to the
#        classifier's 32), 10,000 samples per row and 10,000 real training images in the
#        reference row; progan grows 4 -> 16 px in 4,000-image phases; pix2pix 4,096 probes.
#   32px: 2,000 images x 5 epochs = 155 steps, 32 px, 500 samples (what the autoregressive
#        models' sampling affords at 32 px); progan 1,400-image phases; pix2pix 500 probes.
# A rerun with the same OUT resumes (finished cells are kept). One libtorch thread, CPU, nice.
# gan@minimax is gan with --loss minimax (a second row of the same generator).
set -euo pipefail
cd "$(dirname "$0")/.."
TABLE=${1:-16px}
ROWS=${2:-gan,gan@minimax,wgan,wgan-gp,cgan,progan,unrolled-gan,pix2pix,pixelcnn,pixelrnn}
case "$TABLE" in
  16px) SIZE=16 EPOCHS=10 SAMPLES=10000 PROBE=4096 PHASE=4000 ;;
  32px) SIZE=32 EPOCHS=5 SAMPLES=500 PROBE=500 PHASE=1400 ;;
  *)
    echo "usage: bench/generative-table.sh [16px|32px] [rows]" >&2
    exit 2
    ;;
esac
OUT=${OUT:-bench/results/issue11-2026-11-30/$TABLE}
HP="ngf=16,ndf=16,nz=32,gan@minimax.loss=minimax,pixelcnn.hidden=16,pixelcnn.layers=3,pixelcnn.out-hidden=32"
HP="$HP,pixelrnn.hidden=16,pixelrnn.out-hidden=32,pix2pix.probe=$PROBE,progan.phase-images=$PHASE"
echo "== $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg): $TABLE --models $ROWS" >&2
nice -n 10 node --import tsx src/cli/main.ts benchmark --suite generative --models "$ROWS" --hparams "$HP" --data mnist --seeds 0 \
  --train-limit 2000 --epochs "$EPOCHS" --batch-size 64 --image-size "$SIZE" --samples "$SAMPLES" --device cpu --threads 1 --out "$OUT"
echo "== $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg): done" >&2
