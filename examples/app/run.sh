#!/usr/bin/env bash
# Builds this application against the installed panama-nn and runs it twice: as a modular
# application (native access granted to the module dev.panamann) and on the class path
# (granted to ALL-UNNAMED). The library must be installed first: `mvn install -DskipTests` in the
# panama-nn repository root (.ci/run does it).
set -euo pipefail
cd "$(dirname "$0")"
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
mvn -B -ntp -q package
echo "== module path"
"$java" --enable-native-access=dev.panamann -p target/lib:target/panama-nn-example-app.jar \
    -m dev.panamann.example/dev.panamann.example.SpiralApp target/spiral-modular.safetensors
echo "== class path"
"$java" --enable-native-access=ALL-UNNAMED -cp "target/lib/*:target/panama-nn-example-app.jar" \
    dev.panamann.example.SpiralApp target/spiral-classpath.safetensors
