#!/usr/bin/env bash
# The main job: trains the CIFAR-10 conv net (conv7x7(32) - relu - maxpool2x2 - affine(500) -
# relu - affine(10) - softmax, random horizontal flips) on the real CIFAR-10 data through the
# native backend, with progress, and prints validation and test accuracy. Installs what is
# missing first. The cs231n reference settings: --hidden 100 --no-flip.
#   bash samples/train-cifar10.sh [panama-nn train options, e.g. --epochs 15 --data PATH]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
. .ci/setup.sh
jar=samples/target/panama-nn-samples.jar
mvn -q -B -ntp -pl samples -am package -DskipTests -Dmaven.javadoc.skip=true -Dmaven.source.skip=true
# The CLI's default data path, ../shared/data/cifar10/cifar-10-binary.tar.gz, is relative to
# the repository root, where this script runs it; --data PATH overrides it.
# jdk.incubator.vector: the optimizer updates run as Vector API loops (the JVM prints one
# "Using incubator modules" warning).
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xmx8g -jar "$jar" train "$@"
