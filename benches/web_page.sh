#!/usr/bin/env bash
# The results page at scale: time to first byte (median and p99 over many requests) and full page
# weight (HTML + CSS + JS) of /search at 100 000 listings, with the API's /v1/search for the same
# queries as the baseline in the same run; and a check that the pages reference nothing external.
#
#   benches/web_page.sh                   # 100 000 listings, 20 queries x 10 rounds
#   LISTINGS=20000 ROUNDS=3 benches/web_page.sh
#
# Uses the release binary (built if missing). Output: benches/out/web/web-page.md (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
LISTINGS=${LISTINGS:-100000}
ROUNDS=${ROUNDS:-10}
OUT=${OUT:-benches/out/web}
BIN=${SILKMATCH_BIN:-target/release/silkmatch}
PORT=${PORT:-18431}
mkdir -p "$OUT"
[ -x "$BIN" ] || cargo build --release -p silkmatch-cli
WORK=$(mktemp -d)
SERVER=""
cleanup() { if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi; rm -rf "$WORK"; }
trap cleanup EXIT

echo "generating and importing $LISTINGS listings..." >&2
"$BIN" fixtures generate --offers $((LISTINGS / 2)) --needs $((LISTINGS - LISTINGS / 2)) --seed 1 --out "$WORK/listings.jsonl" >&2
"$BIN" --data "$WORK/data" import "$WORK/listings.jsonl" >&2
"$BIN" --data "$WORK/data" serve --addr "127.0.0.1:$PORT" >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null || { echo "the server did not get ready:" >&2; cat "$WORK/serve.log" >&2; exit 1; }

QUERIES=("solar pump" "water treatment" "battery" "sensor network" "biodegradable packaging" "machine learning"
    "drip irrigation" "wind turbine" "membrane filtration" "vaccine" "太阳能" "水处理" "насос" "очистка воды"
    "الطاقة الشمسية" "concrete" "robot" "fertiliser" "semiconductor" "heat pump")
encode() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote_plus(sys.argv[1]))' "$1"; }
ENCODED=()
for q in "${QUERIES[@]}"; do ENCODED+=("$(encode "$q")"); done
# Warm up both paths once.
for e in "${ENCODED[@]}"; do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/search?q=$e"
    curl -s -o /dev/null "http://127.0.0.1:$PORT/v1/search?q=$e"
done
: >"$WORK/page.txt"; : >"$WORK/api.txt"
for _ in $(seq 1 "$ROUNDS"); do
    for e in "${ENCODED[@]}"; do
        # Alternate page and API requests so both see the same machine load.
        curl -s -o /dev/null -H 'Accept: text/html' -w '%{time_starttransfer}\n' "http://127.0.0.1:$PORT/search?q=$e" >>"$WORK/page.txt"
        curl -s -o /dev/null -w '%{time_starttransfer}\n' "http://127.0.0.1:$PORT/v1/search?q=$e&limit=20" >>"$WORK/api.txt"
    done
done

stats() { sort -n "$1" | awk '{v[NR]=$1} END {m=v[int((NR+1)/2)]; p=v[int(NR*0.99+0.999)]; printf "%.1f %.1f", m*1000, p*1000}'; }
read -r PAGE_MEDIAN PAGE_P99 <<<"$(stats "$WORK/page.txt")"
read -r API_MEDIAN API_P99 <<<"$(stats "$WORK/api.txt")"

# Page weight: the HTML of a typical results page plus every stylesheet and script it links.
curl -s "http://127.0.0.1:$PORT/search?q=${ENCODED[0]}" >"$WORK/page.html"
HTML_BYTES=$(wc -c <"$WORK/page.html")
ASSET_BYTES=0
for asset in $(grep -oE '(href|src)="/static/[^"]+"' "$WORK/page.html" | sed -E 's/.*="([^"]+)"/\1/' | sort -u); do
    ASSET_BYTES=$((ASSET_BYTES + $(curl -s "http://127.0.0.1:$PORT$asset" | wc -c)))
done
SCRIPTS=$(grep -c '<script' "$WORK/page.html" || true)
EXTERNAL=$({ grep -oE '(src|href|action)="(https?:)?//[^"]*"' "$WORK/page.html" || true; } | wc -l)
GZIP_HTML=$(gzip -c "$WORK/page.html" | wc -c)
LOAD=$(cut -d' ' -f1 /proc/loadavg)
RATIO=$(awk -v a="$PAGE_MEDIAN" -v b="$API_MEDIAN" 'BEGIN {printf "%.2f", a / b}')

{
    echo "# Results page at $LISTINGS listings ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average $LOAD)"
    echo
    echo "| | median TTFB | p99 TTFB | requests |"
    echo "|---|---|---|---|"
    echo "| results page \`/search?q=...\` | ${PAGE_MEDIAN} ms | ${PAGE_P99} ms | $(wc -l <"$WORK/page.txt") |"
    echo "| API \`/v1/search?q=...&limit=20\` (baseline) | ${API_MEDIAN} ms | ${API_P99} ms | $(wc -l <"$WORK/api.txt") |"
    echo "| ratio page / API (median) | ${RATIO} | | |"
    echo
    echo "Page weight of \`/search?q=${QUERIES[0]}\`: HTML ${HTML_BYTES} B (${GZIP_HTML} B gzipped, not served compressed), CSS and JS ${ASSET_BYTES} B, total $((HTML_BYTES + ASSET_BYTES)) B; script elements: ${SCRIPTS}; external references: ${EXTERNAL}."
} | tee "$OUT/web-page.md"
[ "$EXTERNAL" -eq 0 ] || { echo "the page references an external resource" >&2; exit 1; }
