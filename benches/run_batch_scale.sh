#!/usr/bin/env bash
# Batch ranking at scale: `silkmatch batch rank --direction needs --k 20` over N needs × M offers,
# with 1 and 2 rayon threads (wall time and peak RSS from /usr/bin/time -v), against the naive loop
# that runs the single-listing match path (`silkmatch match need ID --k 20 --json`, one process per
# need, as a script would) on a sample of needs, extrapolated to all of them. See docs/batch.md.
#
# Usage:  benches/run_batch_scale.sh
#
# Environment:
#   SIZES         "NEEDSxOFFERS" pairs to run, in order (default "10000x10000"); "NEEDSxOFFERS@I/K"
#                 ranks only shard I of K of the needs (`--partition I/K`) against the whole corpus, to
#                 measure a large corpus in a fraction of the time (the table says how many were ranked)
#   NAIVE_SAMPLE  needs timed with the naive loop (default 40)
#   THREADS       rayon thread counts to run the batch with (default "1 2"; "" for the naive loop only)
#   OUT           output folder (default benches/out/batch_scale)
#   WORK          folder for the data directories (default: a temp folder, removed at the end)
#   BIN           the silkmatch binary (default: built with `cargo build --release -p silkmatch-cli`)
#
# Writes OUT/batch-scale.md (one row per size and mode) and OUT/*.time (raw /usr/bin/time -v output),
# and prints the table. The 1-minute load average before each step is recorded: the machine is shared.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
SIZES="${SIZES:-10000x10000}"
NAIVE_SAMPLE="${NAIVE_SAMPLE:-40}"
OUT="${OUT:-$repo/benches/out/batch_scale}"
mkdir -p "$OUT"
if [ -z "${BIN:-}" ]; then
    (cd "$repo" && cargo build --release -p silkmatch-cli >&2)
    BIN="$repo/target/release/silkmatch"
fi
WORK="${WORK:-$(mktemp -d)}"
mkdir -p "$WORK"
cleanup() { [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"; }
trap cleanup EXIT

load() { cut -d' ' -f1 /proc/loadavg; }
# Fields of /usr/bin/time -v: wall seconds and max RSS in MiB.
wall_of() { awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$1"; }
cpu_of() { awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { printf "%.0f", u + s }' "$1"; }
rss_of() { awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$1"; }

table="$OUT/batch-scale.md"
{
    echo "commit $(cd "$repo" && git rev-parse --short HEAD)$(cd "$repo" && git diff --quiet || echo ' (dirty)'), $(date -u +%FT%TZ), $(nproc) cores"
    echo
    echo "| needs × offers | mode | wall s | needs/s | CPU s (user+sys) | peak RSS MiB | load before |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
} > "$table"

for entry in $SIZES; do
    size="${entry%@*}"
    partition=""
    [ "$entry" != "$size" ] && partition="${entry#*@}"
    needs="${size%x*}"
    offers="${size#*x}"
    ranked="$needs"
    [ -n "$partition" ] && ranked=$(( needs / ${partition#*/} ))
    label="$needs × $offers${partition:+ (shard $partition: $ranked needs)}"
    data="$WORK/data-$size"
    corpus="$WORK/corpus-$size.jsonl"
    echo "== $needs needs × $offers offers" >&2
    "$BIN" fixtures generate --needs "$needs" --offers "$offers" --out "$corpus" >&2
    /usr/bin/time -v "$BIN" --data "$data" import "$corpus" > /dev/null 2> "$OUT/import-$size.time"
    rm -f "$corpus"
    now="$(date +%s)"
    for threads in ${THREADS-1 2}; do
        before="$(load)"
        out="$WORK/out-$size-$threads"
        RAYON_NUM_THREADS=$threads /usr/bin/time -v "$BIN" --data "$data" batch rank --direction needs \
            --k 20 --now "$now" --no-store ${partition:+--partition "$partition"} --out "$out" > "$OUT/batch-$size-t$threads.out" 2> "$OUT/batch-$size-t$threads.time"
        wall="$(wall_of "$OUT/batch-$size-t$threads.time")"
        echo "| $label | batch, $threads thread(s) | $wall | $(awk -v n="$ranked" -v w="$wall" 'BEGIN { printf "%.1f", n / w }') | $(cpu_of "$OUT/batch-$size-t$threads.time") | $(rss_of "$OUT/batch-$size-t$threads.time") | $before |" >> "$table"
    done
    if [ "${THREADS-1 2}" != "1 2" ]; then
        :
    elif cmp -s "$WORK/out-$size-1/recommendations.jsonl" "$WORK/out-$size-2/recommendations.jsonl"; then
        echo "$label: 1 and 2 threads wrote identical output" | tee -a "$OUT/identical.txt" >&2
    else
        echo "$label: 1 and 2 threads wrote DIFFERENT output" | tee -a "$OUT/identical.txt" >&2
    fi
    # The naive loop: one `silkmatch match` process per need, on the first NAIVE_SAMPLE needs.
    "$BIN" --data "$data" batch plan --direction needs --now "$now" ${partition:+--partition "$partition"} > "$WORK/plan.txt"
    head -n "$NAIVE_SAMPLE" "$WORK/plan.txt" > "$WORK/sample.txt"
    before="$(load)"
    start="$(date +%s.%N)"
    while read -r id; do
        "$BIN" --data "$data" match need "$id" --k 20 --json > /dev/null
    done < "$WORK/sample.txt"
    end="$(date +%s.%N)"
    per="$(awk -v s="$start" -v e="$end" -v n="$NAIVE_SAMPLE" 'BEGIN { print (e - s) / n }')"
    echo "| $label | naive loop (sample of $NAIVE_SAMPLE, extrapolated) | $(awk -v p="$per" -v n="$ranked" 'BEGIN { printf "%.0f", p * n }') | $(awk -v p="$per" 'BEGIN { printf "%.1f", 1 / p }') | – | – | $before |" >> "$table"
    rm -rf "$data" "$WORK"/out-"$size"-*
done
cat "$table"
