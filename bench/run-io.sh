#!/usr/bin/env bash
# Collective output writes against dd on the same file system, in one run.
#   bench/run-io.sh [ROWS] [COLS]      (default 4000000 x 20 doubles = 640 MB)
# annforest: bench/io_bench.c writes a ROWS x COLS double matrix through the output store, batch
# by batch as a query does (4096-row batches split over the ranks, one collective write each),
# then syncs, closes and publishes; 1 and 2 ranks; bigmemory (column-major, strided) and native
# row-major. dd: the same number of bytes, bs=1M, conv=fdatasync. Best of 3 each; the files are
# removed between runs. Writes bench/results/io.log and bench/results/io.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${AF_BENCH_BUILD:-$PWD/build-bench}
ROWS=${1:-4000000}
COLS=${2:-20}
WORK=$BUILD/bench-work/io
mkdir -p "$WORK" bench/results
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpicc -std=c11 -O2 -D_GNU_SOURCE -Icore -Iio -I"$BUILD/generated" bench/io_bench.c \
    "$BUILD/io/libaf_io.a" "$BUILD/core/libaf_base.a" \
    $(pkg-config --libs inih libxxhash libcjson) -lcrypto -fopenmp \
    $( [ -n "$(ls /usr/lib/x86_64-linux-gnu/hdf5/openmpi/libhdf5.so 2>/dev/null)" ] &&
       echo -L/usr/lib/x86_64-linux-gnu/hdf5/openmpi -lhdf5 ) -o "$WORK/io_bench"
bytes=$((ROWS * COLS * 8))
LOG=bench/results/io.log
: >"$LOG"
for rep in 1 2 3; do
    rm -f "$WORK/dd.out"
    sync
    t0=$(date +%s.%N)
    dd if=/dev/zero of="$WORK/dd.out" bs=1M count=$((bytes / 1048576)) conv=fdatasync status=none
    t1=$(date +%s.%N)
    echo "RESULT tool=dd rep=$rep mb_per_s=$(echo "$((bytes / 1048576)) * 1.048576 / ($t1 - $t0)" | bc -l)" | tee -a "$LOG"
    rm -f "$WORK/dd.out"
    for np in 1 2; do
        for form in desc afm; do
            rm -f "$WORK"/out.*
            sync
            mpirun --oversubscribe --bind-to none -np $np "$WORK/io_bench" "$WORK/out.$form" \
                "$ROWS" "$COLS" 4096 | sed "s/^RESULT /RESULT rep=$rep form=$form /" | tee -a "$LOG"
        done
    done
done
rm -f "$WORK"/out.* "$WORK/dd.out"
/usr/bin/python3 - "$LOG" >bench/results/io.md <<'PY'
import re, sys
best = {}
for line in open(sys.argv[1]):
    kv = dict(re.findall(r"(\w+)=(\S+)", line))
    key = "dd" if kv["tool"] == "dd" else f"annforest {kv['form']} {kv['ranks']} rank(s)"
    best[key] = max(best.get(key, 0), float(kv["mb_per_s"]))
dd = best.pop("dd")
print(f"| writer | MB/s (best of 3) | / dd |\n|---|---|---|\n| dd bs=1M conv=fdatasync | {dd:.0f} | 1.00 |")
for k, v in sorted(best.items()):
    print(f"| {k} | {v:.0f} | {v / dd:.2f} |")
PY
cat bench/results/io.md
