"""Driver of the Spark batch ranking: ids -> RDD -> pipe into silkmatch -> lines in plan order.

Usage: batch_rank.py MASTER IDS_FILE OUT_FILE PARTITIONS COMMAND
"""

import sys

from pyspark.sql import SparkSession


def main():
    master, ids_file, out_file, partitions, command = sys.argv[1:6]
    with open(ids_file, encoding="utf-8") as handle:
        ids = [line.strip() for line in handle if line.strip()]
    spark = (
        SparkSession.builder.master(master)
        .appName("silkmatch-batch-rank")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    try:
        # parallelize keeps order (contiguous slices) and pipe keeps order within a partition, so
        # collect() returns the lines in plan order: the single-machine output, byte for byte.
        lines = spark.sparkContext.parallelize(ids, int(partitions)).pipe(command).collect()
    finally:
        spark.stop()
    with open(out_file, "w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(line + "\n")
    print(f"ranked {len(lines)} listings in {partitions} Spark partitions into {out_file}")


if __name__ == "__main__":
    main()
