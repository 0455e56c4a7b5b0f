#!/usr/bin/env bash
# Matching quality on every labelled match set, in one run: ../shared/data/sbir-match (real needs and
# offers, graded by reading), the real sets of fixtures/realsets/ (built from ../shared by their
# build.py into OUT/sets/), and the generated fixtures/matchset (constraints and traps).
#
# Usage:  benches/eval_match.sh [eval match options...]
#   e.g.  benches/eval_match.sh --split test                 (held-out queries, no model)
#         benches/eval_match.sh --split test --meaning       (the configuration users get: model installed)
#         benches/eval_match.sh --tune --meaning             (choose weights on the dev splits of all sets)
#
# Environment:
#   SHARED  the shared folder (default: ../shared beside the repo)
#   OUT     where the built sets go (default: the repo's benches/out/eval_match)
#   BIN     the silkmatch binary (default: target/release/silkmatch, built with cargo if missing)
#   SETS    which sets, space-separated (default: "sbir-match nasa-xl sbir-zh matchset")
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
SHARED="${SHARED:-$repo/../shared}"
OUT="${OUT:-$repo/benches/out/eval_match}"
BIN="${BIN:-$repo/target/release/silkmatch}"
SETS="${SETS:-sbir-match nasa-xl sbir-zh matchset}"

if [ ! -d "$SHARED/data/sbir-match" ]; then
    echo "eval_match.sh: $SHARED/data/sbir-match not found (set SHARED)" >&2
    exit 2
fi
if [ ! -x "$BIN" ]; then
    (cd "$repo" && cargo build --release -p silkmatch-cli)
fi

args=()
for set in $SETS; do
    case "$set" in
        sbir-match) args+=(--set "$SHARED/data/sbir-match") ;;
        matchset) args+=(--set "$repo/fixtures/matchset") ;;
        *)
            if [ ! -f "$repo/fixtures/realsets/$set/build.py" ]; then
                echo "eval_match.sh: no set $set (fixtures/realsets/$set/build.py)" >&2
                exit 2
            fi
            python3 "$repo/fixtures/realsets/$set/build.py" --shared "$SHARED" --out "$OUT/sets/$set" >&2
            args+=(--set "$OUT/sets/$set")
            ;;
    esac
done

cd "$repo"
exec "$BIN" eval match "${args[@]}" "$@"
