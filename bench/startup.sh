#!/usr/bin/env bash
# bench/startup.sh: what a short rvc command costs, start-up included.
#
#   npm run build                  # build dist/ once
#   bash bench/startup.sh          # median of 20 runs each
#   RUNS=50 bash bench/startup.sh
#   RVC="node /path/to/other/dist/cli/main.js" bash bench/startup.sh   # another build
#
# Times whole processes (median of RUNS, in milliseconds): `node -e 0` (what Node itself costs),
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
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

mkdir -p "$REPO" && cd "$REPO"
git init -q -b main
git config user.email bench@example.com && git config user.name bench && git config commit.gpgsign false
rvc init -q
echo 0 > one.txt
rvc add -q one.txt
git add -A && git commit -qm init

# timeit PREP CMD...: median wall time of CMD in ms; PREP (a shell snippet, untimed) runs before each.
timeit() {
  local prep=$1 times=() t0
  shift
  for i in $(seq "$RUNS"); do
    eval "$prep"
    t0=$(ms)
    "$@" > /dev/null
    times+=("$(( ($(ms) - t0) / 1000000 ))")
  done
  printf '%s\n' "${times[@]}" | median
}

log "node -e 0 ($RUNS runs)"
NODE_MS=$(timeit : node -e 0)
log "rvc --version ($RUNS runs)"
VERSION_MS=$(timeit : eval "$RVC --version")
log "rvc --help ($RUNS runs)"
HELP_MS=$(timeit : eval "$RVC --help")
log "rvc status ($RUNS runs)"
STATUS_MS=$(timeit : eval "$RVC status")
log "rvc add one.txt ($RUNS runs)"
ADD_MS=$(timeit 'echo "$i" > one.txt' eval "$RVC add -q one.txt")

{
  echo "### Start-up: median of $RUNS runs"
  echo
  echo "$(nproc) cores, load average at the end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a); node $(node -v)"
  echo
  echo "| command | time |"
  echo "|---|---|"
  echo "| \`node -e 0\` (Node alone) | $NODE_MS ms |"
  echo "| \`rvc --version\` | $VERSION_MS ms |"
  echo "| \`rvc --help\` | $HELP_MS ms |"
  echo "| \`rvc status\` (one tracked file) | $STATUS_MS ms |"
  echo "| \`rvc add one.txt\` (content changed) | $ADD_MS ms |"
} | tee "$OUT_DIR/startup.md"
