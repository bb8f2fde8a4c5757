#!/usr/bin/env bash
# BM25, mDPR zero-shot and hybrid on MIRACL dev, checked against Pyserini 2CR (needs a network + GPU).
#   scripts/miracl.sh [--dry-run] [languages...]     e.g. scripts/miracl.sh sw yo
set -euo pipefail
cd "$(dirname "$0")/.."
recipe=scripts/recipes/miracl.yaml
args=(); only=()
for a in "$@"; do
  case "$a" in --*) args+=("$a") ;; *) only+=(--only "miracl-$a") ;; esac
done
.venv/bin/tevatron-ext recipe run "$recipe" ${only[@]+"${only[@]}"} ${args[@]+"${args[@]}"}
[[ " ${args[*]-} " == *" --dry-run "* ]] || .venv/bin/tevatron-ext recipe verify "$recipe" ${only[@]+"${only[@]}"}
