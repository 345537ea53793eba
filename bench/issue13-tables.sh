#!/usr/bin/env bash
# Issue 13's "Results to reach" tables, one `anogen benchmark` command each (seed 0, 1 libtorch
# thread, CPU). Each command writes <out>/benchmark.json and <out>/benchmark.md after every cell,
# and running it again resumes a half-finished table (finished cells are kept). The measured
# tables, wall times and the machine are in bench/results/issue13-2026-11-30/README.md.
#
#   bash bench/issue13-tables.sh [out (default runs/issue13)] [tables (default "mnist mnist-ae fmnist loo elpv elpv-ae")]
#
# Budgets: MNIST / Fashion-MNIST one-vs-rest: 1,000 training images, 32 px, 2,000 seeded test
# images; deep-svdd and gaussian (pixels) at their defaults (deep-svdd: 10 pretraining + 20
# one-class epochs); ae in its own table at its README's budget (5 epochs, ngf 32); floors PCA,
# kNN and OC-SVM on pixels (patch kNN left out there: ~3 min per class at 32 px on one core, and
# the weakest floor on MNIST). MNIST leave-one-out: 2,000 training images, 1 epoch,
# ngf = ndf = 16, 1,000 test images. ELPV: all 1,018 training normals, 64 px, all 1,198 test
# images, every floor, the patch kNN position-aware; gaussian and deep-svdd at their defaults,
# ae (5 epochs, ngf 32) in its own table.
# Not in the default set (run by name): gaussian --features patches (one Gaussian per patch position,
# src/detectors/gaussian/patches.ts) at the budgets above: mnist-patches (8 x 8 patches, stride 4,
# at 32 px), elpv-patches (8 x 8, stride 4, at 64 px, as the patch kNN floor) and elpv128-patches
# (16 x 16, stride 8, at 128 px: the same relative geometry, the floor's patches too).
# Also by name: mnist-clf and fmnist-clf, gaussian --features classifier at the MNIST / Fashion-MNIST
# budget above, on the conv2 features of the quality classifier of the OTHER dataset (never the
# target's own); layers and grid chosen on validation only by bench/feature-selection.ts.
# Also by name: elpv-clf (gaussian --features classifier --classifier fashion-mnist, defaults: conv2, grid 3,
# one Gaussian) and elpv-gmm-clf / elpv-gmm-pixels (the same and the pixels with --components 2: a mixture of
# two Gaussians fitted without labels, src/detectors/gaussian/mixture.ts; K = 2 from ELPV's README, mono/poly)
# at the elpv table's budget.
# Also by name: mnist-pc, fmnist-pc and elpv-pc (patchcore on pixel patches, 8 x 8 / stride 4, one bank per
# position, src/detectors/patchcore) at the budgets above; elpv-pc-coreset (patchcore's paper setting on
# pixels: one bank of every patch, greedy coreset 0.01); loo-pc (patchcore per position on the loo budget);
# loo-5ep (the loo table at 4,000 images x 5 epochs).
# Also by name: elpv-mnv2: gaussian and patchcore (per position) on the pretrained MobileNetV2 of the npm package
# nsfwjs (layer2 + layer3 at 224 px); needs MNV2=<file> made by scripts/nsfwjs_to_safetensors.py (see
# src/detectors/features/README.md).
set -euo pipefail
out=${1:-runs/issue13}
tables=${2:-"mnist mnist-ae fmnist loo elpv elpv-ae"}
anogen() { nice -n 15 node --import tsx src/cli/main.ts "$@"; }
common=(--seeds 0 --threads 1 --device cpu)
for t in $tables; do
  case "$t" in
    mnist)
      anogen benchmark --detectors deep-svdd,gaussian --data mnist --protocol one-vs-rest --train-limit 1000 --test-limit 2000 \
        --image-size 32 --floors pca,knn,ocsvm "${common[@]}" --out "$out/mnist-one-vs-rest" ;;
    mnist-ae)
      anogen benchmark --detectors ae --data mnist --protocol one-vs-rest --train-limit 1000 --test-limit 2000 --image-size 32 \
        --epochs 5 --hparams ae.ngf=32 --floors pca,knn,ocsvm "${common[@]}" --out "$out/mnist-one-vs-rest-ae" ;;
    fmnist)
      anogen benchmark --detectors deep-svdd,gaussian --data fashion-mnist --protocol one-vs-rest --train-limit 1000 --test-limit 2000 \
        --image-size 32 --floors pca,knn,ocsvm "${common[@]}" --out "$out/fashion-mnist-one-vs-rest" ;;
    loo)
      anogen benchmark --detectors ganomaly,skip-ganomaly,egbad --data mnist --protocol leave-one-out --train-limit 2000 --epochs 1 \
        --test-limit 1000 --image-size 32 \
        --hparams ganomaly.ngf=16,ganomaly.ndf=16,skip-ganomaly.ngf=16,skip-ganomaly.ndf=16,egbad.ngf=16,egbad.ndf=16 \
        --floors pca,knn,ocsvm "${common[@]}" --out "$out/mnist-leave-one-out" ;;
    elpv)
      anogen benchmark --detectors gaussian,deep-svdd --data /work/shared/data/elpv --protocol folder --image-size 64 \
        --patch-position-aware "${common[@]}" --out "$out/elpv" ;;
    elpv-ae)
      anogen benchmark --detectors ae --data /work/shared/data/elpv --protocol folder --image-size 64 --epochs 5 \
        --hparams ae.ngf=32 --patch-position-aware "${common[@]}" --out "$out/elpv-ae" ;;
    mnist-patches)
      anogen benchmark --detectors gaussian --hparams gaussian.features=patches,gaussian.patchSize=8,gaussian.patchStride=4 --data mnist \
        --protocol one-vs-rest --train-limit 1000 --test-limit 2000 --image-size 32 --floors pca,knn,ocsvm "${common[@]}" \
        --out "$out/mnist-one-vs-rest-patches" ;;
    elpv-patches)
      anogen benchmark --detectors gaussian --hparams gaussian.features=patches --data /work/shared/data/elpv --protocol folder \
        --image-size 64 --patch-position-aware "${common[@]}" --out "$out/elpv-patches" ;;
    elpv128-patches)
      anogen benchmark --detectors gaussian --hparams gaussian.features=patches,gaussian.patchSize=16,gaussian.patchStride=8 \
        --data /work/shared/data/elpv --protocol folder --image-size 128 --patch-size 16 --patch-stride 8 --patch-position-aware \
        "${common[@]}" --out "$out/elpv128-patches" ;;
    mnist-clf)
      anogen benchmark --detectors gaussian --data mnist --protocol one-vs-rest --train-limit 1000 --test-limit 2000 --image-size 32 \
        --hparams gaussian.features=classifier,gaussian.classifier=fashion-mnist,gaussian.classifier-layers=conv2,gaussian.classifier-grid=2 \
        --floors pca,knn,ocsvm "${common[@]}" --out "$out/mnist-one-vs-rest-classifier" ;;
    fmnist-clf)
      anogen benchmark --detectors gaussian --data fashion-mnist --protocol one-vs-rest --train-limit 1000 --test-limit 2000 --image-size 32 \
        --hparams gaussian.features=classifier,gaussian.classifier=mnist,gaussian.classifier-layers=conv2,gaussian.classifier-grid=3 \
        --floors pca,knn,ocsvm "${common[@]}" --out "$out/fashion-mnist-one-vs-rest-classifier" ;;
    elpv-clf)
      anogen benchmark --detectors gaussian --hparams gaussian.features=classifier,gaussian.classifier=fashion-mnist \
        --data /work/shared/data/elpv --protocol folder --image-size 64 --patch-position-aware "${common[@]}" --out "$out/elpv-classifier" ;;
    elpv-gmm-clf)
      anogen benchmark --detectors gaussian --hparams gaussian.features=classifier,gaussian.classifier=fashion-mnist,gaussian.components=2 \
        --data /work/shared/data/elpv --protocol folder --image-size 64 --patch-position-aware "${common[@]}" --out "$out/elpv-gmm-classifier" ;;
    elpv-gmm-pixels)
      anogen benchmark --detectors gaussian --hparams gaussian.components=2 --data /work/shared/data/elpv --protocol folder \
        --image-size 64 --patch-position-aware "${common[@]}" --out "$out/elpv-gmm-pixels" ;;
    mnist-pc)
      anogen benchmark --detectors patchcore --data mnist --protocol one-vs-rest --train-limit 1000 --test-limit 2000 --image-size 32 \
        --hparams patchcore.positionAware=true --floors pca,knn,ocsvm "${common[@]}" --out "$out/mnist-one-vs-rest-patchcore" ;;
    fmnist-pc)
      anogen benchmark --detectors patchcore --data fashion-mnist --protocol one-vs-rest --train-limit 1000 --test-limit 2000 --image-size 32 \
        --hparams patchcore.positionAware=true --floors pca,knn,ocsvm "${common[@]}" --out "$out/fashion-mnist-one-vs-rest-patchcore" ;;
    elpv-pc)
      anogen benchmark --detectors patchcore --hparams patchcore.positionAware=true --data /work/shared/data/elpv --protocol folder \
        --image-size 64 --patch-position-aware "${common[@]}" --out "$out/elpv-patchcore-aware" ;;
    elpv-pc-coreset)
      anogen benchmark --detectors patchcore --hparams patchcore.coreset=0.01 --data /work/shared/data/elpv --protocol folder \
        --image-size 64 --patch-position-aware "${common[@]}" --out "$out/elpv-patchcore-coreset" ;;
    loo-pc)
      anogen benchmark --detectors patchcore --data mnist --protocol leave-one-out --train-limit 2000 --test-limit 1000 --image-size 32 \
        --hparams patchcore.positionAware=true --floors pca,knn,ocsvm "${common[@]}" --out "$out/mnist-leave-one-out-patchcore" ;;
    elpv-mnv2)
      anogen benchmark --detectors gaussian,patchcore --data /work/shared/data/elpv --protocol folder --image-size 128 \
        --hparams "features=backbone,backbone-arch=mobilenet_v2,backbone-weights=${MNV2:?set MNV2=mobilenet_v2.safetensors},backbone-size=224,patchcore.position-aware=true" \
        --patch-position-aware --floors knn,patch-knn "${common[@]}" --out "$out/elpv-mobilenet" ;;
    loo-5ep)
      anogen benchmark --detectors ganomaly,skip-ganomaly,egbad --data mnist --protocol leave-one-out --train-limit 4000 --epochs 5 \
        --test-limit 1000 --image-size 32 \
        --hparams ganomaly.ngf=16,ganomaly.ndf=16,skip-ganomaly.ngf=16,skip-ganomaly.ndf=16,egbad.ngf=16,egbad.ndf=16 \
        --floors pca,knn,ocsvm "${common[@]}" --out "$out/mnist-leave-one-out-5ep" ;;
    *)
      echo "unknown table '$t' (mnist, mnist-ae, fmnist, loo, elpv, elpv-ae, mnist-patches, elpv-patches, elpv128-patches, mnist-clf, fmnist-clf, elpv-clf, elpv-gmm-clf, elpv-gmm-pixels, mnist-pc, fmnist-pc, elpv-pc, elpv-pc-coreset, loo-pc, loo-5ep, elpv-mnv2)" >&2
      exit 2 ;;
  esac
done
