#!/usr/bin/env bash
# Installs what panama-nn needs on a fresh Debian machine and exports JAVA_HOME.
# Source it (". .ci/setup.sh") or run it; safe to repeat: it installs only what is missing.
#   - OpenBLAS (Debian's OpenMP build) and oneDNN 2.x from apt
#   - a JDK 22+ (JAVA_HOME if it is one, else the newest under /usr/lib/jvm; temurin-25 on the
#     project's machines)
#   - Maven (apt) if missing
set -euo pipefail

need=()
for pkg in libopenblas0-openmp libopenblas-dev libdnnl-dev maven cmake gcc; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "panama-nn setup: installing ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# A JDK with the final FFM API: JAVA_HOME if it is new enough, else the newest under /usr/lib/jvm.
jdk_major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'; }
if [ -z "${JAVA_HOME:-}" ] || [ ! -x "$JAVA_HOME/bin/java" ] || [ "$(jdk_major "$JAVA_HOME")" -lt 22 ]; then
  JAVA_HOME=""
  best=0
  for d in /usr/lib/jvm/*/; do
    d=${d%/}
    [ -x "$d/bin/javac" ] || continue
    v=$(jdk_major "$d"); v=${v:-0}
    if [ "$v" -ge 22 ] && [ "$v" -gt "$best" ]; then best=$v; JAVA_HOME=$d; fi
  done
  if [ -z "$JAVA_HOME" ]; then
    echo "panama-nn setup: no JDK 22 or newer under /usr/lib/jvm; install one (e.g. Temurin 25) and set JAVA_HOME" >&2
    exit 1
  fi
fi
export JAVA_HOME
export PATH="$JAVA_HOME/bin:$PATH"
# Maven 3.8's bundled Guava uses sun.misc.Unsafe, which JDK 24+ warns about on every run.
if [ "$(jdk_major "$JAVA_HOME")" -ge 24 ]; then
  case " ${MAVEN_OPTS:-} " in
    *sun-misc-unsafe-memory-access*) ;;
    *) export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow" ;;
  esac
fi
