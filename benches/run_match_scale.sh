#!/usr/bin/env bash
# Matching latency and throughput as the offers grow: silkmatch's `matches_for` for a need against a
# bare tantivy BM25 query over the same terms, at 10 000, 100 000 and 1 000 000 offers, then a table
# of how latency grows. See benches/match_scale.rs and docs/benchmarks.md ("Matching latency").
#
# Usage:  benches/run_match_scale.sh            (from anywhere; paths are relative to the repo)
#
# Environment:
#   SIZES         offer counts to run, in order (default "10000 100000 1000000")
#   NEEDS         needs generated and imported with the offers (default 2000)
#   QUERIES       query needs drawn from them (default 200)
#   OUT           output folder (default: the repo's benches/out/match_scale)
#   WORK          folder for the temporary data directories (default: the system's temp folder;
#                 1 000 000 offers need about 4 GB there while they run)
#   MATCH_BIN     run this match_scale binary as it is instead of building it with
#                 `cargo bench -p silkmatch-cli --bench match_scale --no-run`
#   STEP_TIMEOUT  seconds allowed to each size (default 2700); a run that takes longer is killed
#   QUIET_LOAD    before each size, wait until the 1-minute load average is below this (default 1.0),
#   QUIET_WAIT    but at most this many seconds (default 300); 0 does not wait
#
# What it does: builds the bench once (bench profile), then runs it for each size, one after the
# other, logging to OUT/match-N.log (which starts with the commit and whether the tree was dirty);
# the bench writes OUT/match-N.json and OUT/match-N.md. At the end it prints every table and the
# growth table (`match_scale --summary`, also written to OUT/growth.md). On 2 cores, 10 000 offers
# take about a minute, 100 000 two or three, 1 000 000 about ten (three of them importing).
#
# Exit status: 0 when every size ran, 1 when one failed or timed out, 2 on a setup error.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
SIZES="${SIZES:-10000 100000 1000000}"
NEEDS="${NEEDS:-2000}"
QUERIES="${QUERIES:-200}"
OUT="${OUT:-$repo/benches/out/match_scale}"
STEP_TIMEOUT="${STEP_TIMEOUT:-2700}"
QUIET_LOAD="${QUIET_LOAD:-1.0}"
QUIET_WAIT="${QUIET_WAIT:-300}"
mkdir -p "$OUT"

if [[ -n "${MATCH_BIN:-}" ]]; then
    bin="$MATCH_BIN"
else
    echo "== building the match_scale bench (cargo bench -p silkmatch-cli --bench match_scale --no-run)" >&2
    build_log="$OUT/build.log"
    if ! (cd "$repo" && cargo bench -p silkmatch-cli --bench match_scale --no-run --message-format=json-render-diagnostics >"$build_log"); then
        echo "error: the build failed (messages above; JSON in $build_log)" >&2
        exit 2
    fi
    # The last compiler artifact of the `match_scale` bench target names its executable.
    bin="$(grep '"name":"match_scale"' "$build_log" | grep -o '"executable":"[^"]*"' | tail -n 1 | cut -d'"' -f4 || true)"
fi
if [[ -z "$bin" || ! -x "$bin" ]]; then
    echo "error: no match_scale bench executable (${bin:-none found})" >&2
    exit 2
fi
echo "== match_scale bench: $bin" >&2

# Waits (at most QUIET_WAIT seconds) for the machine to calm down, so another build does not share
# the two cores with the measurements; the bench records the load it actually saw.
wait_for_quiet() {
    local waited=0 load
    while :; do
        load="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)"
        if awk -v load="$load" -v limit="$QUIET_LOAD" 'BEGIN { exit !(load < limit) }'; then
            return 0
        fi
        if ((waited >= QUIET_WAIT)); then
            echo "   load average still $load after ${waited}s; running anyway" >&2
            return 0
        fi
        if ((waited == 0)); then
            echo "   load average $load; waiting up to ${QUIET_WAIT}s for it to fall below $QUIET_LOAD" >&2
        fi
        sleep 15
        waited=$((waited + 15))
    done
}

# The code measured: the commit, and how many files differ from it.
revision() {
    local commit dirty
    commit="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    dirty="$(git -C "$repo" status --porcelain 2>/dev/null | wc -l | tr -d ' ')"
    echo "commit $commit, $dirty changed or new files in the working tree, binary $bin"
}

status=0
for n in $SIZES; do
    echo "== $n offers, $NEEDS needs, $QUERIES query needs; log in $OUT/match-$n.log" >&2
    wait_for_quiet
    work_args=()
    if [[ -n "${WORK:-}" ]]; then
        mkdir -p "$WORK"
        work_args=(--work "$WORK")
    fi
    rm -f "$OUT/match-$n.md" "$OUT/match-$n.json"
    revision >"$OUT/match-$n.log"
    # A run killed by the timeout leaves its temporary silkmatch-match-scale-* folder behind.
    if ! timeout --kill-after=60 "$STEP_TIMEOUT" "$bin" --offers "$n" --needs "$NEEDS" --queries "$QUERIES" --out "$OUT" "${work_args[@]}" 2>&1 |
        tee -a "$OUT/match-$n.log"; then
        echo "error: the run with $n offers failed or took more than ${STEP_TIMEOUT}s (see $OUT/match-$n.log)" >&2
        status=1
    fi
done

echo
echo "== tables"
for n in $SIZES; do
    if [[ -f "$OUT/match-$n.md" ]]; then
        echo
        cat "$OUT/match-$n.md"
    fi
done
echo
"$bin" --summary --out "$OUT" || status=1
exit "$status"
