# Shared by the bench scripts (sourced after they set HERE and ROOT): the rvc under test,
# logging, and the checks every script makes before it starts.
# shellcheck shell=bash

RVC_FROM_ENV=${RVC:-}
RVC=${RVC:-node $(printf %q "$ROOT/dist/cli/main.js")}

log() { printf '%s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
q() { printf '%q' "$1"; }
# rvc as a shell function, for the untimed steps a script runs itself
rvc() { eval "$RVC"' "$@"'; }

# require_tools NAME: git and node on PATH, and a built rvc unless RVC names another one.
require_tools() {
  have git || { log "$1: git is required"; exit 2; }
  have node || { log "$1: node is required"; exit 2; }
  if [ -z "$RVC_FROM_ENV" ] && [ ! -f "$ROOT/dist/cli/main.js" ]; then
    log "$1: $ROOT/dist/cli/main.js is missing; build it first: npm run build"
    exit 2
  fi
}

# Timing helpers of the scripts that time whole commands.
now() { date +%s.%N; }
# secs START END [DECIMALS]: END - START in seconds
secs() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { printf "%.*f", d, b - a }'; }
# median of the numbers on stdin (the lower middle one of an even count)
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# run_timed SETUP CMD: SETUP (untimed), sync, then CMD under GNU time (/usr/bin/time); sets WALL
# and CPU (user + system) in seconds. Called directly, never in a $(...) subshell, where
# set_aside's count of what it moved would be lost. A CMD that fails stops the script: the time
# of a failed command is not a figure.
run_timed() {
  local out
  eval "$1"
  sync
  if ! /usr/bin/time -o "$WORK/time.txt" -f '%e %U %S' bash -c "$2" >"$WORK/cmd.log" 2>&1; then
    log "command failed: $2"
    tail -20 "$WORK/cmd.log" >&2
    exit 1
  fi
  out=$(tail -1 "$WORK/time.txt")
  WALL=$(awk '{print $1}' <<<"$out")
  CPU=$(awk '{printf "%.2f", $2 + $3}' <<<"$out")
}

# pair NAME SETUP CMD BASE_SETUP BASE_CMD: CMD and its baseline in turn, PAIRS times; prints a row
# with the median of the ratios CMD/BASE of each pair, their range, and the two medians.
pair() {
  local name=$1 ratios=() as=() bs=() a b i
  for ((i = 0; i < PAIRS; i++)); do
    run_timed "$2" "$3"
    a=$WALL
    run_timed "$4" "$5"
    b=$WALL
    as+=("$a")
    bs+=("$b")
    ratios+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')")
  done
  local sorted
  sorted=$(printf '%s\n' "${ratios[@]}" | sort -n)
  printf '| %s | %s× | %s–%s× | %s | %s |\n' "$name" "$(median <<<"$sorted")" "$(head -1 <<<"$sorted")" "$(tail -1 <<<"$sorted")" \
    "$(printf '%s\n' "${as[@]}" | median)" "$(printf '%s\n' "${bs[@]}" | median)"
}
pair_header() {
  echo
  echo "Ratios in pairs (each rvc run next to a baseline run, $PAIRS pairs):"
  echo
  echo '| ratio | median | range | rvc wall s (median) | baseline wall s (median) |'
  echo '| --- | ---: | ---: | ---: | ---: |'
}

# bench_work NAME: $OUT_DIR (bench/out) for results, and $WORK, a temp folder removed on exit.
bench_work() {
  OUT_DIR=$HERE/out
  mkdir -p "$OUT_DIR"
  WORK=$(mktemp -d "${BENCH_DIR:-/tmp}/rvc-bench-$1.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
}

# set_aside PATH…: moves files out of the way between timed runs instead of deleting them. On
# ext4 without a journal an inode freed in the last minute (five if its inode-table block is
# still dirty) is not reused, and every file creation scans past such inodes, reading each
# one's block (recently_deleted in the kernel's perf profile): deleting 50,000 files right
# before a run that creates 50,000 made creation cost 3 to 10 times more, by an amount that
# depended on where the freed inodes lay. Set aside under $WORK/aside, they are freed when the
# work folder is removed at exit.
ASIDE_N=0
set_aside() {
  local p
  mkdir -p "$WORK/aside"
  for p in "$@"; do
    if [ -e "$p" ] || [ -L "$p" ]; then
      ASIDE_N=$((ASIDE_N + 1))
      chmod -R u+w "$p" 2>/dev/null || true
      mv "$p" "$WORK/aside/$ASIDE_N"
    fi
  done
}

# remove_now PATH…: removes what a run made at once. For a handful of large files (the 1 GiB rows),
# where set_aside's reason (tens of thousands of freed inodes) does not apply and keeping every
# run's gigabytes until exit would fill the disk.
remove_now() {
  local p
  for p in "$@"; do
    chmod -R u+w "$p" 2>/dev/null || true
    rm -rf "$p"
  done
}

# bench_repo DIR: a new git repository (branch main, a bench identity) with rvc initialised,
# made the current folder.
bench_repo() {
  mkdir -p "$1" && cd "$1"
  git init -q -b main
  git config user.email bench@example.com && git config user.name bench && git config commit.gpgsign false
  rvc init -q
}

# start_s3rver NAME: the local S3 server (bench/remote-s3server.mjs: s3rver on 127.0.0.1, bucket
# `bench`) over $WORK/s3, in the background. Sets S3PID, which the caller's exit trap stops, and
# ENDPOINT; exits naming NAME when the server does not start.
start_s3rver() {
  node "$HERE/remote-s3server.mjs" "$WORK/s3" >"$WORK/s3.endpoint" 2>"$WORK/s3.log" &
  S3PID=$!
  ENDPOINT=''
  local i
  for ((i = 0; i < 300; i++)); do
    ENDPOINT=$(head -n1 "$WORK/s3.endpoint" 2>/dev/null || true)
    [ -n "$ENDPOINT" ] && return 0
    sleep 0.1
  done
  log "$1: s3rver did not start: $(cat "$WORK/s3.log")"
  exit 1
}
