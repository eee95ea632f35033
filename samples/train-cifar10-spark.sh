#!/usr/bin/env bash
# The main job trained data-parallel through Apache Spark (default: local[2], two workers in one
# JVM, gradients all-reduced over loopback TCP after every step), then validation and test
# accuracy on the driver. Installs what is missing first.
#   bash samples/train-cifar10-spark.sh [SparkCifar options, e.g. --master local[2] --workers 2 --epochs 15 --data PATH]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
. .ci/setup.sh
jar=samples/target/panama-nn-samples.jar
cp=samples/target/spark.classpath
# Spark itself is a provided dependency: its jars come from the local Maven repository (the
# class path is written by each module in build order; the samples module, last, wins).
mvn -q -B -ntp -pl samples -am package dependency:build-classpath -DskipTests \
  -Dmdep.includeScope=provided -Dmdep.outputFile="$root/$cp" >/dev/null
# local mode: Spark binds to loopback unless told otherwise
export SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xmx10g -cp "$jar:$(cat "$cp")" dev.panamann.examples.SparkCifar "$@"
