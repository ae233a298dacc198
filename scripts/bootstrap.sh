#!/usr/bin/env bash
# Set up everything agentaudit needs on a fresh machine: the Python virtualenv with the
# package and its dependencies, and the Apache Kafka jars (resolved through Maven).
# Safe to repeat: each step is skipped when its result is already current.
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

fail() { echo "bootstrap: $*" >&2; exit 1; }

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || fail "Python 3.11 or newer is required (found $("$PYTHON" --version 2>&1))"

if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing Java 17 and Maven with apt-get"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      openjdk-17-jre-headless maven >/dev/null
  else
    fail "Java 17+ and Maven are required: install them (e.g. apt-get install openjdk-17-jre-headless maven)"
  fi
fi

java_major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)
[ "${java_major:-0}" -ge 17 ] || fail "Java 17 or newer is required (found ${java_major:-none})"

if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  "$PYTHON" -m venv .venv
fi

stamp=.venv/.agentaudit-installed
wanted=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  echo "bootstrap: installing Python packages into .venv"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[dev]"
  echo "$wanted" > "$stamp"
fi

echo "bootstrap: resolving Kafka jars"
.venv/bin/python -m pipelines.kafka.broker install >/dev/null
echo "bootstrap: ready"
