#!/bin/sh
# Runs the sweep in 16 shards, as many at once as there are cores, then merges them.
set -eu
SHARDS=16
mkdir -p shards
seq 1 "$SHARDS" | parallel --will-cite --halt now,fail=1 \
    "$SWEEP --shard {}/$SHARDS --out shards/part-{}.csv"
evlab merge results.csv $(seq -f 'shards/part-%g.csv' 1 "$SHARDS")
