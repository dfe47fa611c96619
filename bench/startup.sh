#!/usr/bin/env bash
# bench/startup.sh: what a short rvc command costs, start-up included.
#
#   npm run build                  # build dist/ once
#   bash bench/startup.sh          # median of 20 runs each
#   RUNS=50 bash bench/startup.sh
#   RVC="node /path/to/other/dist/cli/main.js" bash bench/startup.sh   # another build
#
# Times whole processes (median of RUNS, in milliseconds, wall and CPU time — CPU time, from GNU
# time when installed, is the steadier figure on a busy machine): `node -e 0` (what Node costs),
# `rvc --version`, `rvc --help`, `rvc status` in a repository tracking one small file, and
# `rvc add` of that one file after its content changed (the change is written before each run,
# untimed). Results: Markdown on stdout and in bench/out/startup.md; progress on stderr.
#
# Environment: RVC (default: node dist/cli/main.js), BENCH_DIR (default /tmp), RUNS=20.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
require_tools startup.sh
RUNS=${RUNS:-20}
OUT_DIR=$HERE/out
mkdir -p "$OUT_DIR"

WORK=$(mktemp -d "${BENCH_DIR:-/tmp}/rvc-bench-startup.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
REPO=$WORK/repo
log() { printf '[startup] %s\n' "$*" >&2; }
ms() { date +%s%N; }
# GNU time gives the CPU time of each run; without it only wall time is shown.
TIMER=
if [ -x /usr/bin/time ] && /usr/bin/time -f '%U' -o /dev/null true 2>/dev/null; then TIMER=/usr/bin/time; fi

mkdir -p "$REPO" && cd "$REPO"
git init -q -b main
git config user.email bench@example.com && git config user.name bench && git config commit.gpgsign false
rvc init -q
echo 0 > one.txt
rvc add -q one.txt
git add -A && git commit -qm init

# timeit PREP CMD: median wall time and median CPU time (user + system, children included) of
# CMD (a shell snippet) in ms, as "WALL CPU"; PREP (a shell snippet, untimed) runs before each.
# CPU time says more than wall time on a busy machine.
timeit() {
  local prep=$1 cmd=$2 walls=() cpus=() t0
  for i in $(seq "$RUNS"); do
    eval "$prep"
    t0=$(ms)
    if [ -n "$TIMER" ]; then
      eval "$TIMER -f '%U %S' -o \"\$WORK/t\" $cmd" > /dev/null
      cpus+=("$(awk '{ printf "%d", ($1 + $2) * 1000 }' "$WORK/t")")
    else
      eval "$cmd" > /dev/null
    fi
    walls+=("$(( ($(ms) - t0) / 1000000 ))")
  done
  printf '%s %s\n' "$(printf '%s\n' "${walls[@]}" | median)" "$( [ -n "$TIMER" ] && printf '%s\n' "${cpus[@]}" | median || echo n/a)"
}
row() { set -- $2; echo "| $ROW_NAME | $1 ms | $2 ms |"; }

log "node -e 0 ($RUNS runs)"
NODE_T=$(timeit : 'node -e 0')
log "rvc --version ($RUNS runs)"
VERSION_T=$(timeit : "$RVC --version")
log "rvc --help ($RUNS runs)"
HELP_T=$(timeit : "$RVC --help")
log "rvc status ($RUNS runs)"
STATUS_T=$(timeit : "$RVC status")
log "rvc add one.txt ($RUNS runs)"
ADD_T=$(timeit 'echo "$i" > one.txt' "$RVC add -q one.txt")

{
  echo "### Start-up: median of $RUNS runs"
  echo
  echo "$(nproc) cores, load average at the end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a); node $(node -v)"
  echo
  echo "| command | wall | CPU (user + system) |"
  echo "|---|---|---|"
  ROW_NAME='`node -e 0` (Node alone)' row x "$NODE_T"
  ROW_NAME='`rvc --version`' row x "$VERSION_T"
  ROW_NAME='`rvc --help`' row x "$HELP_T"
  ROW_NAME='`rvc status` (one tracked file)' row x "$STATUS_T"
  ROW_NAME='`rvc add one.txt` (content changed)' row x "$ADD_T"
} | tee "$OUT_DIR/startup.md"
