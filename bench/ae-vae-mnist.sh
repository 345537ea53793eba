#!/usr/bin/env bash
# MNIST one-vs-rest AUROC of the `ae` (conv) and `vae` detectors through the CLI (train + eval),
# for the READMEs of src/detectors/ae and src/detectors/vae.
#   NGF=64 bash bench/ae-vae-mnist.sh [ae|vae|all] [digits...]   (default: all 0 1 2 3 4 5 6 7 8 9)
# NGF: the conv width of both models (default 64, the detectors' default; the READMEs' numbers
# were measured with NGF=32 to fit the time on a loaded 2-core machine).
# Budget: 1,000 training images of the normal digit, 500 validation images, 5 epochs, 32 px,
# seed 0, 1 libtorch thread (2 threads on a loaded 2-core machine ran ~10x slower: OpenMP waits); 2,000 seeded test images. The VAE is trained once per digit (score 'elbo',
# the default); its 'recon' and 'iwae' scores are evaluated on copies of that bundle whose
# hparams.score is changed and whose calibration is refitted on the validation split
# (`anogen calibrate`): same weights, same test images. Results:
# runs/ae-vae-mnist-ngf<NGF>/<model>-<digit>/results.json; `node bench/ae-vae-summary.mjs
# runs/ae-vae-mnist-ngf<NGF>` prints the tables.
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-all}
shift || true
digits=${*:-0 1 2 3 4 5 6 7 8 9}
ngf=${NGF:-64}
root=runs/ae-vae-mnist-ngf$ngf
cli="node --import tsx src/cli/main.ts"
common="--data mnist --protocol one-vs-rest --train-limit 1000 --val-limit 500 --epochs 5 --image-size 32 --seed 0 --ngf $ngf --threads 1 --quiet --force"
evalopts="--test-limit 2000 --threads 1 --no-report"
mkdir -p "$root"
if [[ $which == ae || $which == all ]]; then
  for d in $digits; do
    $cli train ae $common --normal "$d" --out "$root/ae-$d"
    $cli eval "$root/ae-$d" $evalopts
  done
fi
if [[ $which == vae || $which == all ]]; then
  for d in $digits; do
    $cli train vae $common --normal "$d" --out "$root/vae-elbo-$d"
    $cli eval "$root/vae-elbo-$d" $evalopts --no-floors
    for s in recon iwae; do
      rm -rf "$root/vae-$s-$d"
      cp -r "$root/vae-elbo-$d" "$root/vae-$s-$d"
      rm -f "$root/vae-$s-$d/results.json" "$root/vae-$s-$d/scores.csv"
      node -e "const f=process.argv[1],fs=require('fs');const c=JSON.parse(fs.readFileSync(f,'utf8'));c.hparams.score=process.argv[2];fs.writeFileSync(f,JSON.stringify(c,null,2))" "$root/vae-$s-$d/config.json" "$s"
      $cli calibrate "$root/vae-$s-$d" --threshold percentile:95 --threads 1 --quiet
      $cli eval "$root/vae-$s-$d" $evalopts --no-floors
    done
  done
fi
