#!/usr/bin/env bash
# Installs node_modules from the lockfile when they are missing or older than it, so `npm start` and `npm test`
# work from a fresh clone with nothing installed by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
marker=node_modules/.package-lock.json
if [ ! -f "$marker" ] || [ package-lock.json -nt "$marker" ]; then
  echo "[deps] installing node modules (npm ci)…"
  npm ci --no-audit --no-fund --loglevel=error
fi
for tool in java mvn; do
  command -v "$tool" >/dev/null || { echo "[deps] $tool is missing: the local Kafka broker needs Java 17 and Maven (apt-get install openjdk-17-jre-headless maven)" >&2; exit 1; }
done
