#!/usr/bin/env bash
# bench/chunked.sh: a large file that changes a little, chunked (cache.chunk_threshold) and whole.
#
#   node node_modules/typescript/bin/tsc -p tsconfig.json   # build dist/ once
#   bash bench/chunked.sh [MiB=1024]
#
# Makes a MiB-sized file of random bytes and, in two repositories (one chunking it, the default
# for a file this size, one with the threshold above its size so it is stored whole), times
# `rvc add` (wall and CPU seconds) and pushes to a folder remote; then changes 1 MiB in the
# middle, adds and pushes again, and prints how many bytes the second version added to the
# cache and to the remote. Needs about 6 x MiB of free space in BENCH_DIR (default /tmp).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
. "$HERE/lib.sh"
require_tools chunked.sh
MIB=${1:-1024}
bench_work chunked

du_bytes() { du -sb "$1" | cut -f1; }
head -c $((MIB * 1024 * 1024)) /dev/urandom >"$WORK/v1"
cp "$WORK/v1" "$WORK/v2"
head -c $((1024 * 1024)) /dev/urandom | dd of="$WORK/v2" bs=1M seek=$((MIB / 2)) conv=notrunc status=none

printf '| %s MiB file | add v1 (wall s) | add v1 (CPU s) | cache after v1 | v2 adds to cache | v2 adds to remote |\n|---|---|---|---|---|---|\n' "$MIB"
for mode in chunked whole; do
  repo="$WORK/$mode"
  (
    bench_repo "$repo"
    [ "$mode" = whole ] && rvc config cache.chunk_threshold 5368709120 >/dev/null
    rvc remote add -d r "$WORK/remote-$mode" >/dev/null
    cp "$WORK/v1" data.bin
    sync
    t0=$(now)
    /usr/bin/env time -f '%U %S' -o "$WORK/cpu" bash -c "$RVC add -q data.bin"
    t1=$(now)
    cpu=$(awk '{printf "%.2f", $1 + $2}' "$WORK/cpu")
    rvc push -q
    c1=$(du_bytes .rvc/cache); r1=$(du_bytes "$WORK/remote-$mode")
    chmod u+w data.bin 2>/dev/null || true
    cp "$WORK/v2" data.bin
    rvc add -q data.bin
    rvc push -q
    c2=$(du_bytes .rvc/cache); r2=$(du_bytes "$WORK/remote-$mode")
    pct() { awk -v a="$1" -v m="$MIB" 'BEGIN { printf "%.1f MiB (%.2f %%)", a / 1048576, 100 * a / (m * 1048576) }'; }
    printf '| %s | %s | %s | %s | %s | %s |\n' "$mode" "$(secs "$t0" "$t1")" "$cpu" "$(pct "$c1")" "$(pct $((c2 - c1)))" "$(pct $((r2 - r1)))"
  )
done
