#!/usr/bin/env bash
# The offline demo (what `make demo` runs after installing): prepare the zoo, run the matrix, print the table.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/tevatron-ext models prepare multilingual-e5-small gemma-3-270m
.venv/bin/tevatron-ext recipe run scripts/recipes/demo.yaml "$@"
.venv/bin/tevatron-ext recipe report scripts/recipes/demo.yaml --print
