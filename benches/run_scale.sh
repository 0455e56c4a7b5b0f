#!/usr/bin/env bash
# Side-by-side scale bench: silkmatch against bare tantivy at 100 000 and then 1 000 000 listings
# (import throughput, search latency p50/p99, bytes per listing). See docs/benchmarks.md.
#
# Usage:  benches/run_scale.sh            (from anywhere; paths are relative to the repo)
#
# Environment:
#   SIZES         listing counts to run, in order (default "100000 1000000")
#   QUERIES       queries per query set (default 300)
#   OUT           output folder (default: the repo's benches/out/scale)
#   WORK          folder for the temporary data directories (default: the system's temp folder;
#                 1 000 000 listings need about 6 GB there while they run)
#   SCALE_BIN     run this scale binary as it is instead of building it with
#                 `cargo bench -p silkmatch-cli --bench scale --no-run`
#   STEP_TIMEOUT  seconds allowed to each size (default 10800); a run that takes longer is killed
#   QUIET_LOAD    before each size, wait until the 1-minute load average is below this (default 1.0),
#   QUIET_WAIT    but at most this many seconds (default 600); 0 does not wait
#
# What it does: builds the bench once (bench profile), then runs it for each size, one after the
# other, logging to OUT/scale-N.log; the bench writes OUT/scale-N.json and OUT/scale-N.md. At the
# end it prints every table. 1 000 000 listings take about 8 minutes on 2 quiet cores.
#
# Exit status: 0 when every size ran, 1 when one failed or timed out, 2 on a setup error.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
SIZES="${SIZES:-100000 1000000}"
QUERIES="${QUERIES:-300}"
OUT="${OUT:-$repo/benches/out/scale}"
STEP_TIMEOUT="${STEP_TIMEOUT:-10800}"
QUIET_LOAD="${QUIET_LOAD:-1.0}"
QUIET_WAIT="${QUIET_WAIT:-600}"
mkdir -p "$OUT"

# shellcheck source=common/scale.sh
source "$here/common/scale.sh"
bin="$(bench_binary scale "${SCALE_BIN:-}")"
echo "== scale bench: $bin" >&2

status=0
for n in $SIZES; do
    echo "== $n listings ($QUERIES queries per set), log in $OUT/scale-$n.log" >&2
    wait_for_quiet
    work_dir_args
    rm -f "$OUT/scale-$n.md" "$OUT/scale-$n.json"
    # A run killed by the timeout leaves its temporary silkmatch-scale-* folder behind.
    if ! timeout --kill-after=60 "$STEP_TIMEOUT" "$bin" --listings "$n" --queries "$QUERIES" --out "$OUT" "${work_args[@]}" 2>&1 |
        tee "$OUT/scale-$n.log"; then
        echo "error: the run with $n listings failed or took more than ${STEP_TIMEOUT}s (see $OUT/scale-$n.log)" >&2
        status=1
    fi
done

print_tables scale
exit "$status"
