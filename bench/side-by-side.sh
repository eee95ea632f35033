#!/usr/bin/env bash
# Side-by-side whole-run benchmark: panama-nn (as installed) against PyTorch CPU (Debian's
# python3-torch, NCHW and channels_last, with jemalloc / tcmalloc) and DJL (PyTorch engine),
# round-robin in separate processes; prints medians and ratios. See bench/README.md.
#   bash bench/side-by-side.sh --quick             # smoke test, about 5 minutes on 2 cores
#   bash bench/side-by-side.sh                     # the figures of docs/benchmarks.md
#   bash bench/side-by-side.sh --install           # only install python3-torch, jemalloc, tcmalloc (apt)
#   bash bench/side-by-side.sh --install [options] # install them, then run
# Other options go to bench/side_by_side.py (--help lists them).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
. .ci/setup.sh
args=()
for a in "$@"; do
  if [ "$a" = "--install" ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-torch libjemalloc2 libtcmalloc-minimal4 >/dev/null
  else
    args+=("$a")
  fi
done
if [ $# -eq 1 ] && [ "$1" = "--install" ]; then
  exit 0 # installed; nothing else asked for
fi
echo "building the panama-nn worker (bench/target/panama-nn-bench.jar)" >&2
mvn -q -B -ntp -pl bench -am package -DskipTests
echo "building the DJL worker (bench/djl; Maven fetches DJL and libtorch once)" >&2
if ! mvn -q -B -ntp -f bench/djl/pom.xml package dependency:build-classpath -Dmdep.outputFile=target/classpath.txt >&2; then
  echo "DJL worker did not build: the run goes on without DJL" >&2
  rm -f bench/djl/target/classpath.txt
fi
exec python3 bench/side_by_side.py "${args[@]}"
