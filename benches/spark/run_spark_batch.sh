#!/usr/bin/env bash
# Batch ranking on Apache Spark: a standalone master and one worker on 127.0.0.1, the open needs as
# an RDD of ids, `RDD.pipe` of each partition into `silkmatch batch rank-stdin`, and the collected
# lines written in order: the same bytes as `silkmatch batch rank --direction needs` writes to
# recommendations.jsonl for the same store and reference time. See docs/batch.md ("Scale-out").
#
# Usage:  benches/spark/run_spark_batch.sh SILKMATCH_BIN DATA_DIR OUT_FILE NOW [PARTITIONS] [K]
#
# Installs pyspark into target/spark-venv (once; needs PyPI) and uses the machine's Java 17. Each task
# ranks against its own copy of DATA_DIR (a worker node would hold its own copy; on one machine the
# copy also keeps two tasks from contending for the index lock). Master and worker are stopped at
# the end, whatever happens.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bin="$(realpath "$1")"
data="$(realpath "$2")"
out="$3"
now="$4"
partitions="${5:-4}"
k="${6:-20}"
venv="${SPARK_VENV:-$repo/target/spark-venv}"

if ! "$venv/bin/python" -c 'import pyspark' 2> /dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'pyspark==3.5.*'
fi
spark_home="$("$venv/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"
export SPARK_HOME="$spark_home"
export PYSPARK_PYTHON="$venv/bin/python"
export SPARK_LOCAL_IP=127.0.0.1
work="$(mktemp -d)"
export SPARK_LOG_DIR="$work/logs" SPARK_WORKER_DIR="$work/worker"
free_port() { "$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
master_port="$(free_port)"
master="spark://127.0.0.1:$master_port"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null || true; done
    wait 2> /dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

"$spark_home/bin/spark-class" org.apache.spark.deploy.master.Master --host 127.0.0.1 \
    --port "$master_port" --webui-port "$(free_port)" > "$work/master.log" 2>&1 &
pids+=($!)
"$spark_home/bin/spark-class" org.apache.spark.deploy.worker.Worker --host 127.0.0.1 \
    --webui-port "$(free_port)" --cores 2 --memory 1g --work-dir "$work/worker" "$master" > "$work/worker.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do
    grep -qs "Successfully registered with master" "$work/worker.log" && break
    sleep 0.5
done
grep -qs "Successfully registered with master" "$work/worker.log" || {
    echo "the Spark worker did not register with $master:" >&2
    tail -20 "$work/master.log" "$work/worker.log" >&2
    exit 1
}

"$bin" --data "$data" batch plan --direction needs --now "$now" > "$work/ids.txt"
# Every task ranks with the vectors embedding had reached now, whatever a server embeds meanwhile.
vectors_seq="$("$bin" --data "$data" stats --json | "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["meaning"]["reached_seq"])')"
"$venv/bin/python" "$here/batch_rank.py" "$master" "$work/ids.txt" "$out" "$partitions" \
    "$here/rank_partition.sh $bin $data $now $k $vectors_seq"
