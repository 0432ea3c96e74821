#!/usr/bin/env bash
# Replays a failing schedule of a model and draws it:
#   scripts/replay.sh MODEL TOKEN|FILE [--trace] [--diagram] [--svg FILE]
# With no token, replays every schedule saved for the model in models/regressions/.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ]; then
    echo "usage: scripts/replay.sh MODEL [TOKEN|FILE] [--trace] [--diagram] [--svg FILE]" >&2
    exit 2
fi
model="$1"
shift
if [ $# -eq 0 ] || [[ "$1" == --* ]]; then
    file="models/regressions/${model//\//__}.txt"
    if [ ! -f "$file" ]; then
        echo "no saved schedule for $model ($file does not exist)" >&2
        exit 2
    fi
    set -- "$file" "$@"
fi
exec cargo run --release --bin leakproof -- replay "$model" "$@" --diagram
