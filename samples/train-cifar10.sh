#!/usr/bin/env bash
# The main job: trains the CIFAR-10 conv net (conv7x7(32) - relu - maxpool2x2 - affine(100) -
# relu - affine(10) - softmax) on the real CIFAR-10 data through the native backend, with
# progress, and prints validation and test accuracy. Installs what is missing first.
#   bash samples/train-cifar10.sh [panama-nn train options, e.g. --epochs 10 --data DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
. .ci/setup.sh
jar=samples/target/panama-nn-samples.jar
mvn -q -B -ntp -pl samples -am package -DskipTests
data_default="$root/../shared/data/cifar10/cifar-10-binary.tar.gz"
args=("$@")
has_data=false
for a in "${args[@]+"${args[@]}"}"; do [ "$a" = "--data" ] && has_data=true; done
$has_data || args=(--data "$data_default" "${args[@]+"${args[@]}"}")
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Xmx8g -jar "$jar" train "${args[@]}"
