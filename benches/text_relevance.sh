#!/usr/bin/env bash
# Side-by-side text relevance: silkmatch against a bm25s BM25 baseline on Cranfield and CACM.
#
# Usage:  benches/text_relevance.sh            (from anywhere; paths are relative to the repo)
#
# Environment:
#   SHARED         the shared folder (default: the repo's sibling `shared`, i.e. ../shared)
#   PYTHON         the Python 3.8+ used for the venv and for score.py (default: python3)
#   SILKMATCH_BIN  use this silkmatch binary as it is instead of `cargo build --release -p silkmatch-cli`
#   STEP_TIMEOUT   seconds allowed to each install, build, index or scoring step (default 1800)
#
# What it does:
#   1. makes (once) a venv in target/bench-venv with pinned bm25s and PyStemmer from PyPI; that is the
#      only step that needs the network, and it is skipped while the venv's pins are unchanged;
#   2. builds silkmatch (`cargo build --release -p silkmatch-cli`, a no-op when it is up to date);
#   3. for each collection: a bm25s run (benches/bm25s_run.py), silkmatch's run and its own metrics
#      (`silkmatch eval text --json --run`), and both runs scored by $SHARED/eval/score.py;
#   4. prints a table, writes runs, scores and summary.json to benches/out/text_relevance/.
#
# Exit status: 0 when silkmatch's nDCG@10 is >= bm25s's on every collection (and silkmatch's own
# metrics agree with score.py's); 1 when it is not; 2 on a setup error (missing data, tools, install).
set -euo pipefail

BM25S_VERSION=0.3.16
PYSTEMMER_VERSION=3.1.0
COLLECTIONS=(cranfield cacm)

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
SHARED="${SHARED:-$(dirname "$repo")/shared}"
PYTHON="${PYTHON:-python3}"
STEP_TIMEOUT="${STEP_TIMEOUT:-1800}"
venv="$repo/target/bench-venv"
out="$repo/benches/out/text_relevance"
start_seconds=$SECONDS

# Wall-clock seconds with sub-second precision where bash has EPOCHREALTIME (bash >= 5).
now() { if [ -n "${EPOCHREALTIME:-}" ]; then echo "${EPOCHREALTIME/,/.}"; else echo "$SECONDS"; fi; }
die() { echo "text_relevance: error: $*" >&2; exit 2; }
say() { echo "text_relevance: $*" >&2; }
# Every long step runs under a time limit, so the script always stops by itself.
bounded() {
    if command -v timeout >/dev/null 2>&1; then
        timeout --kill-after=30 "$STEP_TIMEOUT" "$@"
    else
        "$@"
    fi
}

# --- inputs -------------------------------------------------------------------------------------
[ -d "$SHARED" ] || die "shared folder not found at $SHARED (expected beside the repo as ../shared; set SHARED=/path/to/shared)"
score_py="$SHARED/eval/score.py"
[ -f "$score_py" ] || die "$score_py is missing: $SHARED does not look like the project's shared folder"
for c in "${COLLECTIONS[@]}"; do
    for f in docs.jsonl queries.jsonl qrels.tsv; do
        [ -s "$SHARED/eval/$c/$f" ] || die "$SHARED/eval/$c/$f is missing or empty"
    done
done
command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found (install Python 3.8+ or set PYTHON)"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 8) else 1)' \
    || die "$PYTHON is older than 3.8"

# --- Python venv with the baseline (the only network step, done once) ---------------------------
requirements="bm25s==$BM25S_VERSION PyStemmer==$PYSTEMMER_VERSION"
stamp="$venv/.silkmatch-bench-requirements"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null || true)" != "$requirements" ]; then
    say "creating $venv with $requirements"
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    if ! bounded "$PYTHON" -m venv "$venv" >&2; then
        rm -rf "$venv"
        die "'$PYTHON -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)"
    fi
    # shellcheck disable=SC2086 # $requirements is a list of pins
    if ! PIP_NO_INPUT=1 bounded "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            --timeout 60 --retries 3 $requirements >&2; then
        rm -rf "$venv"
        die "pip could not install $requirements (PyPI must be reachable for this first run)"
    fi
    echo "$requirements" >"$stamp"
fi
vpy="$venv/bin/python"
versions_json="$("$vpy" -c 'import json, importlib.metadata as m; print(json.dumps({p: m.version(p) for p in ("bm25s", "PyStemmer", "numpy")}))')" \
    || die "the venv at $venv is broken; delete it and run again"

# --- silkmatch ----------------------------------------------------------------------------------
if [ -n "${SILKMATCH_BIN:-}" ]; then
    silkmatch="$SILKMATCH_BIN"
else
    command -v cargo >/dev/null 2>&1 || die "cargo not found (install Rust, or set SILKMATCH_BIN)"
    say "cargo build --release -p silkmatch-cli"
    (cd "$repo" && bounded cargo build --release -p silkmatch-cli --quiet) || die "cargo build failed"
    silkmatch="$repo/target/release/silkmatch"
fi
[ -x "$silkmatch" ] || die "silkmatch binary not found at $silkmatch"

# --- runs and scores ----------------------------------------------------------------------------
mkdir -p "$out"
rm -f "$out"/*.run "$out"/*.json
# Nothing below needs the network; keep any library from trying.
export HF_HUB_OFFLINE=1 PIP_NO_INDEX=1

for c in "${COLLECTIONS[@]}"; do
    dir="$SHARED/eval/$c"
    qrels="$dir/qrels.tsv"

    say "$c: bm25s"
    t0=$(now)
    bounded "$vpy" "$repo/benches/bm25s_run.py" "$dir" "$out/$c.bm25s.run" || die "$c: bm25s_run.py failed"
    echo "$t0 $(now)" >"$out/$c.bm25s.seconds"
    bounded "$PYTHON" "$score_py" "$qrels" "$out/$c.bm25s.run" --json >"$out/$c.bm25s.score.json" \
        || die "$c: score.py failed on the bm25s run"

    say "$c: silkmatch"
    t0=$(now)
    bounded "$silkmatch" eval text --collection "$dir" --json --run "$out/$c.silkmatch.run" \
        >"$out/$c.silkmatch.self.json" || die "$c: silkmatch eval text failed"
    echo "$t0 $(now)" >"$out/$c.silkmatch.seconds"
    bounded "$PYTHON" "$score_py" "$qrels" "$out/$c.silkmatch.run" --json >"$out/$c.silkmatch.score.json" \
        || die "$c: score.py failed on the silkmatch run"
done

# --- table, verdicts, summary.json ---------------------------------------------------------------
commit="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ "$commit" != unknown ] && [ -n "$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    commit="$commit+dirty"
fi
status=0
OUT="$out" VERSIONS="$versions_json" COMMIT="$commit" COLLECTIONS="${COLLECTIONS[*]}" SHARED="$SHARED" \
    "$PYTHON" - <<'PY' || status=$?
import json, os, sys

out = os.environ["OUT"]
collections = os.environ["COLLECTIONS"].split()
versions = json.loads(os.environ["VERSIONS"])

def load(name):
    with open(os.path.join(out, name), encoding="utf-8") as f:
        text = f.read().strip().splitlines()
    return json.loads(text[-1])

def seconds(name):
    with open(os.path.join(out, name), encoding="utf-8") as f:
        start, end = map(float, f.read().split())
    return round(end - start, 3)

# silkmatch's own JSON keys -> score.py's
SELF_KEYS = {"nDCG@10": "ndcg@10", "Recall@100": "recall@100", "MRR@10": "mrr@10"}
METRICS = list(SELF_KEYS)
AGREE = 5e-5  # both round to the same 4th decimal, give or take one

rows, verdicts, summary, failed = [], [], {}, False
for c in collections:
    bm = load(f"{c}.bm25s.score.json")
    sm = load(f"{c}.silkmatch.score.json")
    own = load(f"{c}.silkmatch.self.json")
    own = {m: own[k] for m, k in SELF_KEYS.items()}
    rows.append((c, f"bm25s {versions['bm25s']} (score.py)", bm))
    rows.append((c, "silkmatch (score.py)", sm))
    rows.append((c, "silkmatch (own metrics)", own))
    agree = all(abs(sm[m] - own[m]) <= AGREE for m in METRICS)
    ahead = sm["nDCG@10"] >= bm["nDCG@10"]
    delta = sm["nDCG@10"] - bm["nDCG@10"]
    verdicts.append(
        f"{c}: silkmatch nDCG@10 {sm['nDCG@10']:.4f} {'>=' if ahead else '<'} bm25s {bm['nDCG@10']:.4f} "
        f"({delta:+.4f}): {'OK' if ahead else 'FAIL: silkmatch is below bm25s'}; "
        f"silkmatch's own metrics {'agree with' if agree else 'DISAGREE with'} score.py"
    )
    failed |= not ahead or not agree
    summary[c] = {
        "queries": bm["queries"],
        "bm25s": {**{m: bm[m] for m in METRICS}, "run": f"{c}.bm25s.run", "wall_seconds": seconds(f"{c}.bm25s.seconds")},
        "silkmatch": {**{m: sm[m] for m in METRICS}, "run": f"{c}.silkmatch.run", "wall_seconds": seconds(f"{c}.silkmatch.seconds")},
        "silkmatch_own_metrics": own,
        "silkmatch_own_metrics_agree": agree,
        "silkmatch_ndcg10_minus_bm25s": delta,
        "silkmatch_at_least_bm25s": ahead,
    }

headers = ["collection", "system", *METRICS]
table = [headers] + [[c, s, *(f"{r[m]:.4f}" for m in METRICS)] for c, s, r in rows]
widths = [max(len(row[i]) for row in table) for i in range(len(headers))]
def line(cells):
    return "| " + " | ".join(
        cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(cells, widths))
    ) + " |"
print(line(headers))
print("|" + "|".join("-" * (w + 1) + ("-" if i < 2 else ":") for i, w in enumerate(widths)) + "|")
for row in table[1:]:
    print(line(row))
print()
for v in verdicts:
    print(v)

with open(os.path.join(out, "summary.json"), "w", encoding="utf-8") as f:
    json.dump({
        "silkmatch_commit": os.environ["COMMIT"],
        "shared": os.environ["SHARED"],
        "baseline": {
            "versions": versions,
            "config": "title + ' ' + text; bm25s.tokenize(stopwords='en', stemmer=PyStemmer english); "
                      "BM25(k1=1.5, b=0.75, method='lucene'); top 100; single thread",
        },
        "scorer": "shared/eval/score.py",
        "collections": summary,
        "pass": not failed,
    }, f, indent=2)
    f.write("\n")
sys.exit(1 if failed else 0)
PY
rm -f "$out"/*.seconds
if [ "$status" -gt 1 ]; then
    die "the summary step failed (exit $status)"
fi
say "runs and summary.json in ${out#"$repo"/}; wall time $((SECONDS - start_seconds))s"
exit "$status"
