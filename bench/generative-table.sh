#!/usr/bin/env bash
# Issue 11: the generative table. Every generator on MNIST (all classes) at ONE budget, measured
# by `anogen benchmark --suite generative` with the committed MNIST quality classifier: Fréchet
# distance, classifier score, modes covered, KL from uniform, and one 8 x 8 sample grid per row.
#
#   bench/generative-table.sh [all|main|late]     (default all)
#
# Environment (defaults: the budget below): TRAIN_LIMIT, EPOCHS, SAMPLES, OUT, and ROWS (the
# comma-separated rows of `late`/`all`, in the order they run and appear).
#
# The budget (the same for every row; hyperparameters a model does not have are not given to it):
#   2,000 seeded MNIST training images (all digits) x 5 epochs, batch 64 (31 loop steps per epoch;
#   an epoch is one pass of the data through the discriminator or critic), 32 px, seed 0,
#   learning rates and everything else at each model's defaults; GAN family (ngf/ndf/nz): widths
#   16, nz 32; pixelcnn and pixelrnn: hidden 16, output head 32 (pixelcnn 3 gated blocks,
#   pixelrnn its default 2 Row LSTM layers; their defaults cost 40 s per step here); progan: a
#   1,400-image phase, so it grows 4 -> 32 px within the 10,000 images; pix2pix: task degrade,
#   500 probe images (sample() translates those: see the README); 500 samples per row (the
#   pixel models' autoregressive sampling is what limits the count) and 500 real training
#   images in the reference row; the 10,000 test images. One libtorch thread, CPU, nice.
# gan@minimax is gan with --loss minimax (a second row of the same generator).
#
# `main` runs every row but unrolled-gan and progan; `late` runs the whole list in the same
# folder: the benchmark resumes, keeps the finished cells and runs only what is missing (their
# engineers were committing fixes while the main rows ran). `all` is both in one call.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-bench/results/issue11-2026-11-30}
PHASE=${1:-all}
SAMPLES=${SAMPLES:-500}
BUDGET=(--data mnist --seeds 0 --train-limit "${TRAIN_LIMIT:-2000}" --epochs "${EPOCHS:-5}" --batch-size 64 --image-size 32 --samples "$SAMPLES" --device cpu --threads 1)
HP="ngf=16,ndf=16,nz=32,gan@minimax.loss=minimax,pixelcnn.hidden=16,pixelcnn.layers=3,pixelcnn.out-hidden=32"
HP="$HP,pixelrnn.hidden=16,pixelrnn.out-hidden=32,pix2pix.probe=$SAMPLES"
MAIN=gan,gan@minimax,wgan,wgan-gp,cgan,pixelcnn,pixelrnn,pix2pix
ALL=${ROWS:-gan,gan@minimax,unrolled-gan,wgan,wgan-gp,cgan,progan,pixelcnn,pixelrnn,pix2pix}
HP_ALL="$HP,progan.phase-images=1400"

run() {
  echo "== $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg): --models $1" >&2
  nice -n 10 node --import tsx src/cli/main.ts benchmark --suite generative --models "$1" --hparams "$2" "${BUDGET[@]}" --out "$OUT"
  echo "== $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg): done" >&2
}

case "$PHASE" in
  main) run "$MAIN" "$HP" ;;
  late | all) run "$ALL" "$HP_ALL" ;;
  *)
    echo "usage: bench/generative-table.sh [all|main|late]" >&2
    exit 2
    ;;
esac
