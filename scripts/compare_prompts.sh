#!/usr/bin/env bash
# Which prompt variant gives the most in-language, answerable queries? For each passage language and
# query language (am->am, en->am, km->km, en->km), generate with every variant on the same seeded
# sample of passages, mine each variant into its own training file (same filters, same round trip),
# and tabulate what each filter removed: runs/prompts/filters.md (+ .json).
#
#   scripts/compare_prompts.sh                       # offline: gemma-3-270m on the demo collections
#   SAMPLE=100 scripts/compare_prompts.sh
#   GEN_FLAGS="--backend openai --base-url http://localhost:8000/v1 --model Qwen/Qwen2.5-7B-Instruct" \
#     CHAT_FLAGS= scripts/compare_prompts.sh         # any OpenAI-compatible server
#
# Variables: LANGS (am km), VARIANTS (fewshot summarize chat), SAMPLE (40 passages per direction),
# SEED (13), OUT (runs/prompts), IDX (indexes/demo: BM25 + E5 indexes for the round trip, built if
# missing), GEN_FLAGS (backend/model flags; default the hf backend with gemma-3-270m), CHAT_FLAGS
# (extra flags for the chat variant; default `--chat-template gemma`: gemma-3-270m is a base model
# without a chat template, so Gemma's turn format is supplied).
# Reruns resume: finished generations and mined files are reused (delete OUT to start over).
set -euo pipefail
cd "$(dirname "$0")/.."
TX=${TX:-.venv/bin/tevatron-ext}
LANGS=${LANGS:-am km}
VARIANTS=${VARIANTS:-fewshot summarize chat}
SAMPLE=${SAMPLE:-40}
SEED=${SEED:-13}
OUT=${OUT:-runs/prompts}
IDX=${IDX:-indexes/demo}
GEN_FLAGS=${GEN_FLAGS:---backend hf --model gemma-3-270m}
CHAT_FLAGS=${CHAT_FLAGS---chat-template gemma}
mkdir -p "$OUT/gen" "$OUT/train"
case "$GEN_FLAGS" in *"--backend openai"*) ;; *) $TX models prepare gemma-3-270m multilingual-e5-small ;; esac
files=()
labels=()
for lang in $LANGS; do
  [ -d "$IDX/bm25.$lang" ] || $TX bm25 index -c "demo-$lang" -i "$IDX/bm25.$lang"
  [ -d "$IDX/e5.$lang" ] || $TX encode -m multilingual-e5-small -c "demo-$lang" -i "$IDX/e5.$lang"
  for variant in $VARIANTS; do
    extra=()
    [ "$variant" = chat ] && [ -n "$CHAT_FLAGS" ] && read -r -a extra <<< "$CHAT_FLAGS"
    gens=()
    for qlang in "$lang" en; do
      g="$OUT/gen/$variant.$qlang-$lang.jsonl"
      # shellcheck disable=SC2086
      $TX generate -c "demo-$lang" --query-language "$qlang" --sample "$SAMPLE" --seed "$SEED" \
        --prompt-variant "$variant" $GEN_FLAGS "${extra[@]}" --no-progress -o "$g"
      gens+=(-g "$g")
    done
    t="$OUT/train/$variant.$lang.jsonl"
    $TX mine -c "demo-$lang" "${gens[@]}" --bm25-index "$IDX/bm25.$lang" --dense-index "$IDX/e5.$lang" \
      --seed "$SEED" -o "$t"
    files+=("$t")
    labels+=(--label "$variant")
  done
done
$TX filter-report "${files[@]}" "${labels[@]}" -o "$OUT/filters.json"
$TX filter-report "${files[@]}" "${labels[@]}" -o "$OUT/filters.md"
cat "$OUT/filters.md"
