#!/usr/bin/env bash
# Runs locally exactly what CI runs (.ci/run): fmt, clippy, `cargo test`, `leakproof check`.
exec bash "$(dirname "$0")/../.ci/run" "$@"
