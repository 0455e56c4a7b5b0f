#!/usr/bin/env bash
# One Spark task: ids on stdin, JSONL on stdout, ranked against a private copy of the data directory.
# Usage: rank_partition.sh SILKMATCH_BIN DATA_DIR NOW K VECTORS_SEQ
set -euo pipefail
copy="$(mktemp -d)"
trap 'rm -rf "$copy"' EXIT
cp -r "$2" "$copy/data"
rm -f "$copy/data/search/.tantivy-writer.lock" "$copy/data/search/.tantivy-meta.lock"
SILKMATCH_LOG=error RAYON_NUM_THREADS=1 "$1" --data "$copy/data" batch rank-stdin --now "$3" --k "$4" --vectors-seq "$5"
