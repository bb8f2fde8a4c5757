#!/usr/bin/env bash
# Encode a collection in N shards (one after another here; as a SLURM array or on N GPUs in practice),
# then merge them into one index: the same index as a one-process encode.
#   scripts/encode_sharded.sh MODEL COLLECTION OUT N [encode flags...]
set -euo pipefail
model=$1 collection=$2 out=$3 n=$4
shift 4
cli=${TEVATRON_EXT:-tevatron-ext}
shards=()
for ((i = 0; i < n; i++)); do
  "$cli" encode -m "$model" -c "$collection" -i "$out.shard$i" --num-shards "$n" --shard-id "$i" "$@"
  shards+=("$out.shard$i")
done
"$cli" index merge -o "$out" "${shards[@]}"
