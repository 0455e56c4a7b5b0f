# Shared by the scale scripts (run_scale.sh, run_match_scale.sh): source it after setting `repo`,
# `OUT`, `QUIET_LOAD` and `QUIET_WAIT`.

# Prints the executable of bench target $1, built once in the bench profile, or the binary named by
# $2 when that is set (a prebuilt one); exits 2 when neither gives an executable.
bench_binary() {
    local name="$1" given="${2:-}" bin build_log
    if [[ -n "$given" ]]; then
        bin="$given"
    else
        echo "== building the $name bench (cargo bench -p silkmatch-cli --bench $name --no-run)" >&2
        build_log="$OUT/build.log"
        if ! (cd "$repo" && cargo bench -p silkmatch-cli --bench "$name" --no-run --message-format=json-render-diagnostics >"$build_log"); then
            echo "error: the build failed (messages above; JSON in $build_log)" >&2
            exit 2
        fi
        # The last compiler artifact of the bench target names its executable.
        bin="$(grep "\"name\":\"$name\"" "$build_log" | grep -o '"executable":"[^"]*"' | tail -n 1 | cut -d'"' -f4 || true)"
    fi
    if [[ -z "$bin" || ! -x "$bin" ]]; then
        echo "error: no $name bench executable (${bin:-none found})" >&2
        exit 2
    fi
    echo "$bin"
}

# Waits (at most QUIET_WAIT seconds) for the machine to calm down, so another build does not share
# the two cores with what is measured; the benches record the load they actually saw.
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

# Sets `work_args` to `--work WORK` when WORK is set (creating it), else to nothing.
work_dir_args() {
    work_args=()
    if [[ -n "${WORK:-}" ]]; then
        mkdir -p "$WORK"
        work_args=(--work "$WORK")
    fi
}

# Prints the tables OUT/$1-N.md of every size in SIZES that has one.
print_tables() {
    local prefix="$1" n
    echo
    echo "== tables"
    for n in $SIZES; do
        if [[ -f "$OUT/$prefix-$n.md" ]]; then
            echo
            cat "$OUT/$prefix-$n.md"
        fi
    done
}
