#!/usr/bin/env bash
# A small ResNet on CIFAR-10: the ResNet-9 of the fast CIFAR-10 recipes at width 16 (channels
# 16-32-64-128, ~47 MFLOP per image) with the resnet-small recipe (see `panama-nn train --help`
# and docs/results.md), on the real data through the native backend, with progress, plots
# (loss.png, accuracy.png, weights.png), a checkpoint per epoch and the test accuracy at the end.
#   bash samples/train-cifar10-resnet.sh [panama-nn train options, e.g. --filters 24 --epochs 20]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
exec bash "$root/samples/train-cifar10.sh" --model resnet-small --plots --checkpoint --out runs/resnet-small "$@"
