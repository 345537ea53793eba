#!/usr/bin/env bash
# MNIST one-vs-rest with deep-svdd, alocc and anogan through the CLI (train, then eval with the
# floors). Usage: bench/svdd-alocc-anogan-mnist.sh <detector> "<digits>" [extra train flags...]
# e.g. bench/svdd-alocc-anogan-mnist.sh deep-svdd "0 1 8" --pretrain-epochs 5 --epochs 10
# Bundles and results go to ${OUT:-/tmp/anogen-bench}/<detector>-<digit>; one line per digit on stdout.
set -euo pipefail
det=$1
digits=$2
shift 2
out=${OUT:-/tmp/anogen-bench}
mkdir -p "$out"
for d in $digits; do
  b="$out/$det-$d"
  t0=$(date +%s)
  node --import tsx src/cli/main.ts train "$det" --data mnist --protocol one-vs-rest --normal "$d" --seed 0 --device cpu --quiet --force --out "$b" "$@" >"$b.train.log" 2>&1
  t1=$(date +%s)
  node --import tsx src/cli/main.ts eval "$b" --device cpu >"$b.eval.log" 2>&1
  t2=$(date +%s)
  echo "$det digit $d: train $((t1 - t0)) s, eval $((t2 - t1)) s; $(grep -iE 'auroc' "$b.eval.log" | head -3 | tr '\n' ' ')"
done
