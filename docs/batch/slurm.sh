#!/bin/sh
#SBATCH --job-name=evlab-sweep
#SBATCH --array=1-16
#SBATCH --cpus-per-task=4
#SBATCH --output=shards/slurm-%a.log
# One array task per shard; the task's index is the shard's.
set -eu
$SWEEP --threads "$SLURM_CPUS_PER_TASK" \
    --shard "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT" \
    --out "shards/part-$SLURM_ARRAY_TASK_ID.csv"
