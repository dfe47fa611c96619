#!/usr/bin/env bash
# Where local time goes: rvc's local copies next to `cp -r` of the same files, as CPU time and
# system calls per file (both much steadier than wall time on a shared machine), plus wall time.
#
#   bash bench/local.sh              # 10,000 files x 2 KiB in 20 folders (the first 20 of `small`)
#   FOLDERS=100 bash bench/local.sh  # all 50,000
#   MEDIUM=100 bash bench/local.sh   # also `rvc add` of 100 files x 1 MiB (the first of `medium`),
#                                    # and one-thread b3sum of them when b3sum is installed
#   LARGE=1 bash bench/local.sh      # also cp, rvc push and rvc pull of one 1 GiB file (folder remote)
#
# Between runs, what a run made is moved aside, not deleted (see set_aside in bench/lib.sh: on
# ext4 without a journal, files deleted just before a run make its file creations slower).
#
# Rows: cp -r; rvc add (fresh repository), on every core and in one thread; rvc checkout into an
# emptied workspace, likewise; a no-op rvc
# checkout; rvc pull from a folder remote into an empty cache and workspace. Each is run RUNS
# times (default 3) in turn, the median reported; one more run under `strace -c -f` counts the
# system calls (all of them, and without futex and epoll_pwait, which are the thread pool's
# hand-offs rather than file work); the counts include the process's start-up (about 5,000 calls
# for node), which is why FOLDERS below 20 overstates them. Needs GNU time; strace for the counts.
#
# Each section ends with the targets' ratios measured in pairs: the rvc command and its baseline
# (`cp -r`, `cp`, or `cp -r` + one-thread b3sum; for a pull also two `cp -r` or `cp` in a row, the
# floor of a command that writes every byte into the cache and then into the workspace) run in
# turn, A B A B ..., PAIRS times (default
# RUNS), and the median of the pairs' ratios reported. On a shared virtual disk the time of
# writing a gigabyte of new pages drifts several-fold within minutes, which a ratio of two
# medians taken minutes apart carries whole; a ratio of neighbouring runs does not.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
require_tools local.sh
FOLDERS=${FOLDERS:-20}
RUNS=${RUNS:-3}
MEDIUM=${MEDIUM:-0}
PAIRS=${PAIRS:-$RUNS}
bench_work local

log "generating $FOLDERS folders of 500 files x 2 KiB"
node "$HERE/gen.mjs" small "$WORK/gen"
mkdir "$WORK/data"
for d in $(cd "$WORK/gen" && ls | head -n "$FOLDERS"); do mv "$WORK/gen/$d" "$WORK/data/"; done
rm -rf "$WORK/gen"
FILES=$(find "$WORK/data" -type f | wc -l)

# measure NAME SETUP CMD: RUNS timed runs of CMD (SETUP, untimed, before each, then sync), then
# one under strace. Prints a table row.
measure() {
  local name=$1 setup=$2 cmd=$3 walls=() cpus=() i
  for ((i = 0; i < RUNS; i++)); do
    run_timed "$setup" "$cmd"
    walls+=("$WALL")
    cpus+=("$CPU")
  done
  local calls='—' fscalls='—'
  if have strace; then
    eval "$setup"
    sync
    strace -c -f -o "$WORK/strace.txt" bash -c "$cmd" >/dev/null 2>&1 || true
    # Columns of strace -c: % time, seconds, usecs/call, calls, [errors,] syscall.
    calls=$(awk '$NF == "total" { print $4 }' "$WORK/strace.txt")
    fscalls=$(awk '/^ *[0-9]/ && $NF != "futex" && $NF != "epoll_pwait" && $NF != "total" { n += $4 } END { print n }' "$WORK/strace.txt")
    calls=$(awk -v c="$calls" -v f="$FILES" 'BEGIN { printf "%.1f", c / f }')
    fscalls=$(awk -v c="$fscalls" -v f="$FILES" 'BEGIN { printf "%.1f", c / f }')
  fi
  printf '| %s | %s | %s | %s | %s |\n' "$name" "$(printf '%s\n' "${walls[@]}" | median)" "$(printf '%s\n' "${cpus[@]}" | median)" "$calls" "$fscalls"
}

R=$WORK/repo
REMOTE=$WORK/remote
bench_repo "$R" >/dev/null
cp -r "$WORK/data" "$R/data"
rvc add -q data
git add -A >/dev/null && git commit -qm data
rvc remote add -d store "$REMOTE" >/dev/null
rvc push -q
git clone -q "$R" "$WORK/clone"
(cd "$WORK/clone" && rvc remote add -d store "$REMOTE" >/dev/null)
RQ=$(q "$R")
CQ=$(q "$WORK/clone")

echo "### $FILES files x 2 KiB, $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg) at start"
echo
echo '| operation | wall s (median) | CPU s (user + sys) | system calls a file | without futex/epoll a file |'
echo '| --- | ---: | ---: | ---: | ---: |'
measure 'cp -r' "set_aside $(q "$WORK/cp")" "cp -r $(q "$WORK/data") $(q "$WORK/cp")"
measure 'rvc add (fresh repository)' "set_aside $RQ/.rvc/cache $RQ/.rvc/tmp/state* $RQ/data.rvc" "cd $RQ && $RVC add -q data"
# The same in one thread (cache.jobs 1): what storing on every core gives.
(cd "$R" && rvc config cache.jobs 1)
measure 'rvc add (fresh repository), one thread (cache.jobs 1)' "set_aside $RQ/.rvc/cache $RQ/.rvc/tmp/state* $RQ/data.rvc" "cd $RQ && $RVC add -q data"
(cd "$R" && rvc config --unset cache.jobs)
measure 'rvc checkout into an emptied workspace' "set_aside $RQ/data" "cd $RQ && $RVC checkout -q"
# The same in one thread: what copying on every core (cache.jobs, default one thread per core) gives.
(cd "$R" && rvc config cache.jobs 1)
measure 'rvc checkout into an emptied workspace, one thread (cache.jobs 1)' "set_aside $RQ/data" "cd $RQ && $RVC checkout -q"
(cd "$R" && rvc config --unset cache.jobs)
measure 'rvc checkout, nothing to do' ":" "cd $RQ && $RVC checkout -q"
measure 'rvc pull, folder remote, empty cache and workspace' "set_aside $CQ/.rvc/cache $CQ/data" "cd $CQ && $RVC pull -q"
CP_SMALL=("set_aside $(q "$WORK/cp")" "cp -r $(q "$WORK/data") $(q "$WORK/cp")")
pair_header
pair 'rvc checkout / cp -r' "set_aside $RQ/data" "cd $RQ && $RVC checkout -q" "${CP_SMALL[@]}"
pair 'rvc pull / cp -r' "set_aside $CQ/.rvc/cache $CQ/data" "cd $CQ && $RVC pull -q" "${CP_SMALL[@]}"
# The floor of a pull that keeps a cache: every file is written twice, once into the cache and
# once into the workspace, where `cp -r` writes it once. Its baseline is two `cp -r` in a row.
pair 'rvc pull / two cp -r (remote → cache → workspace)' "set_aside $CQ/.rvc/cache $CQ/data" "cd $CQ && $RVC pull -q" \
  "set_aside $(q "$WORK/cp") $(q "$WORK/cp2")" "cp -r $(q "$WORK/data") $(q "$WORK/cp") && cp -r $(q "$WORK/cp") $(q "$WORK/cp2")"
echo
echo "load average $(cut -d' ' -f1 /proc/loadavg) at end"

if [ "$MEDIUM" -gt 0 ]; then
  node "$HERE/gen.mjs" medium "$WORK/mgen"
  mkdir "$WORK/mdata"
  for f in $(cd "$WORK/mgen" && ls | head -n "$MEDIUM"); do mv "$WORK/mgen/$f" "$WORK/mdata/"; done
  rm -rf "$WORK/mgen"
  FILES=$MEDIUM
  M=$WORK/mrepo
  bench_repo "$M" >/dev/null
  cp -r "$WORK/mdata" "$M/data"
  MQ=$(q "$M")
  echo
  echo "### $MEDIUM files x 1 MiB"
  echo
  echo '| operation | wall s (median) | CPU s (user + sys) | system calls a file | without futex/epoll a file |'
  echo '| --- | ---: | ---: | ---: | ---: |'
  measure 'cp -r' "set_aside $(q "$WORK/mcp")" "cp -r $(q "$WORK/mdata") $(q "$WORK/mcp")"
  measure 'rvc add (fresh repository)' "set_aside $MQ/.rvc/cache $MQ/.rvc/tmp/state* $MQ/data.rvc" "cd $MQ && $RVC add -q data"
  (cd "$M" && rvc config cache.jobs 1)
  measure 'rvc add (fresh repository), one thread (cache.jobs 1)' "set_aside $MQ/.rvc/cache $MQ/.rvc/tmp/state* $MQ/data.rvc" "cd $MQ && $RVC add -q data"
  (cd "$M" && rvc config --unset cache.jobs)
  # The hashing limit of the add target: one-thread BLAKE3 over the same files.
  if have b3sum; then
    measure 'b3sum --num-threads 1' ":" "cd $(q "$WORK/mdata") && find . -type f -print0 | xargs -0 b3sum --num-threads 1"
    pair_header
    # Storing on every core against one thread, in turn: as rows run one after the other, a row
    # that follows a gigabyte of writes pays their writeback, which made the two rows disagree.
    pair 'rvc add on every core / in one thread (cache.jobs 1)' \
      "set_aside $MQ/.rvc/cache $MQ/.rvc/tmp/state* $MQ/data.rvc; (cd $MQ && rvc config --unset cache.jobs)" "cd $MQ && $RVC add -q data" \
      "set_aside $MQ/.rvc/cache $MQ/.rvc/tmp/state* $MQ/data.rvc; (cd $MQ && rvc config cache.jobs 1)" "cd $MQ && $RVC add -q data"
    (cd "$M" && rvc config --unset cache.jobs)
    pair 'rvc add / (cp -r + b3sum --num-threads 1)' "set_aside $MQ/.rvc/cache $MQ/.rvc/tmp/state* $MQ/data.rvc" "cd $MQ && $RVC add -q data" \
      "set_aside $(q "$WORK/mcp")" "cp -r $(q "$WORK/mdata") $(q "$WORK/mcp") && cd $(q "$WORK/mdata") && find . -type f -print0 | xargs -0 b3sum --num-threads 1"
  else
    echo
    echo "b3sum is not installed: no hashing-limit row."
  fi
fi

if [ "${LARGE:-0}" = 1 ]; then
  # One 1 GiB file to and from a folder remote, next to cp of the same file. The file is above
  # cache.chunk_threshold, so it is stored and moved as content-defined chunks (the default).
  FILES=1
  L=$WORK/lrepo
  bench_repo "$L" >/dev/null
  head -c $((1024 * 1024 * 1024)) /dev/urandom >"$WORK/large.bin"
  cp "$WORK/large.bin" "$L/large.bin"
  LQ=$(q "$L")
  (cd "$L" && rvc add -q large.bin && git add -A >/dev/null && git commit -qm large && rvc remote add -d store "$WORK/lremote" >/dev/null)
  echo
  echo "### one 1 GiB file, folder remote"
  echo
  echo '| operation | wall s (median) | CPU s (user + sys) | system calls | without futex/epoll |'
  echo '| --- | ---: | ---: | ---: | ---: |'
  measure 'cp' "remove_now $(q "$WORK/lcp.bin")" "cp $(q "$WORK/large.bin") $(q "$WORK/lcp.bin")"
  measure 'rvc push (empty remote)' "remove_now $(q "$WORK/lremote")" "cd $LQ && $RVC push -q"
  measure 'rvc pull (empty cache and workspace)' "remove_now $LQ/.rvc/cache $LQ/large.bin" "cd $LQ && $RVC pull -q"
  CP_LARGE=("remove_now $(q "$WORK/lcp.bin")" "cp $(q "$WORK/large.bin") $(q "$WORK/lcp.bin")")
  pair_header
  pair 'rvc push / cp' "remove_now $(q "$WORK/lremote")" "cd $LQ && $RVC push -q" "${CP_LARGE[@]}"
  pair 'rvc pull / cp' "remove_now $LQ/.rvc/cache $LQ/large.bin" "cd $LQ && $RVC pull -q" "${CP_LARGE[@]}"
  # The floor of a pull that keeps a cache: the gigabyte is written twice (cache, workspace).
  pair 'rvc pull / two cp (remote → cache → workspace)' "remove_now $LQ/.rvc/cache $LQ/large.bin" "cd $LQ && $RVC pull -q" \
    "remove_now $(q "$WORK/lcp.bin") $(q "$WORK/lcp2.bin")" "cp $(q "$WORK/large.bin") $(q "$WORK/lcp.bin") && cp $(q "$WORK/lcp.bin") $(q "$WORK/lcp2.bin")"
fi
