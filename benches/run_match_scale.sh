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

# shellcheck source=common/scale.sh
source "$here/common/scale.sh"
bin="$(bench_binary match_scale "${MATCH_BIN:-}")"
echo "== match_scale bench: $bin" >&2

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
    work_dir_args
    rm -f "$OUT/match-$n.md" "$OUT/match-$n.json"
    revision >"$OUT/match-$n.log"
    # A run killed by the timeout leaves its temporary silkmatch-match-scale-* folder behind.
    if ! timeout --kill-after=60 "$STEP_TIMEOUT" "$bin" --offers "$n" --needs "$NEEDS" --queries "$QUERIES" --out "$OUT" "${work_args[@]}" 2>&1 |
        tee -a "$OUT/match-$n.log"; then
        echo "error: the run with $n offers failed or took more than ${STEP_TIMEOUT}s (see $OUT/match-$n.log)" >&2
        status=1
    fi
done

print_tables match
echo
"$bin" --summary --out "$OUT" || status=1
exit "$status"
