#!/usr/bin/env bash
# The am/km matrix of scripts/recipes/amharic_khmer.yaml (needs a network, a GPU and an LLM server).
#   scripts/amharic_khmer.sh [--dry-run] [--only CONDITION_OR_COLLECTION ...]
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/tevatron-ext recipe run scripts/recipes/amharic_khmer.yaml "$@"
