#!/usr/bin/env bash
# The vocabulary-extension ablation of scripts/recipes/vocab_ablation.yaml (offline, ~10 min on 2 cores):
# a tiny mBERT-like encoder that cannot see Ethiopic/Khmer, fine-tuned with and without `vocab extend`.
#   scripts/vocab_ablation.sh [--dry-run] [--only CONDITION_OR_COLLECTION ...]
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/tevatron-ext recipe run scripts/recipes/vocab_ablation.yaml "$@"
.venv/bin/tevatron-ext vocab coverage models/vocab/tiny demo-am --max-docs 200 || true
.venv/bin/tevatron-ext recipe report scripts/recipes/vocab_ablation.yaml --print
