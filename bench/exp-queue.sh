#!/usr/bin/env bash
# bench/exp-queue.sh: what the experiment queue costs beyond the pipeline's own time.
#
#   npm run build                       # build dist/ once
#   bash bench/exp-queue.sh             # overhead per experiment, 10 runs
#   FULL=1 bash bench/exp-queue.sh      # also 100 queued runs with -j 2
#
# Builds (not timed) a repository with a 10,000-file dataset (`rvc add data`) and one trivial
# stage depending on it (`cat params.yaml > out.txt`). Times whole commands, node start-up
# included:
#   1. the same experiment run in the workspace: `rvc exp run -S a=<i>`, median of RUNS
#      (the pipeline's own time, with rvc's fixed cost of a run);
#   2. RUNS queued runs through `rvc exp run --run-all -j 1`; per-experiment overhead =
#      (2) / RUNS - (1). Target: <= 300 ms.
#   3. with FULL=1: QUEUED (100) queued runs with `--run-all -j 2`; target: <= 1.2 x QUEUED x (1) / 2.
# Results: Markdown on stdout and in bench/out/exp-queue.md; progress on stderr.
#
# Environment: RVC (default: node dist/cli/main.js), BENCH_DIR (default /tmp), FILES=10000,
# RUNS=10, FULL=0, QUEUED=100.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
require_tools exp-queue.sh
FILES=${FILES:-10000}
RUNS=${RUNS:-10}
FULL=${FULL:-0}
QUEUED=${QUEUED:-100}
OUT_DIR=$HERE/out
mkdir -p "$OUT_DIR"

WORK=$(mktemp -d "${BENCH_DIR:-/tmp}/rvc-bench-exp-queue.XXXXXX")
trap 'rvc queue stop --kill >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
REPO=$WORK/repo
log() { printf '[exp-queue] %s\n' "$*" >&2; }
# CPU seconds (user + system) this shell's finished children have used so far: less sensitive
# than wall time to other load on the machine.
# Sets CPU (run in this shell, not in $(…): a subshell's children are not this shell's).
cpu_now() {
  times > "$WORK/times"
  CPU=$(awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.3f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$WORK/times")
}

log "building a $FILES-file dataset in $REPO"
mkdir -p "$REPO/data" && cd "$REPO"
git init -q -b main
git config user.email bench@example.com && git config user.name bench && git config commit.gpgsign false
rvc init -q
node -e 'const fs=require("fs");const n=+process.argv[1];for(let i=0;i<n;i++){const d=`data/d${i%100}`;if(i<100)fs.mkdirSync(d,{recursive:true});fs.writeFileSync(`${d}/f${i}.txt`,`file ${i}\n`);}' "$FILES"
rvc add -q data
printf 'a: 0\n' > params.yaml
cat > rvc.yaml <<'YAML'
stages:
  train:
    cmd: cat params.yaml > out.txt
    deps: [data]
    params: [a]
    outs: [out.txt]
YAML
rvc repro -q
git add -A && git commit -qm bench

log "workspace: $RUNS x rvc exp run"
times=()
cpu_now; c0=$CPU
for i in $(seq "$RUNS"); do
  t0=$(now)
  rvc exp run -q -S "a=$i"
  times+=("$(secs "$t0" "$(now)" 3)")
done
cpu_now
SINGLE_CPU=$(awk -v a="$c0" -v b="$CPU" -v n="$RUNS" 'BEGIN { printf "%.3f", (b - a) / n }')
git checkout -q -- params.yaml rvc.lock
SINGLE=$(printf '%s\n' "${times[@]}" | median)

log "queue: $RUNS runs with --run-all -j 1"
for i in $(seq "$RUNS"); do rvc exp run -q --queue -S "a=$((1000 + i))"; done
t0=$(now)
cpu_now; c0=$CPU
rvc exp run -q --run-all -j 1
QUEUE_S=$(secs "$t0" "$(now)" 3)
cpu_now
PER_CPU=$(awk -v a="$c0" -v b="$CPU" -v n="$RUNS" 'BEGIN { printf "%.3f", (b - a) / n }')
OVER_CPU=$(awk -v p="$PER_CPU" -v s="$SINGLE_CPU" 'BEGIN { printf "%.0f", (p - s) * 1000 }')
rvc queue remove -q --success
PER=$(awk -v q="$QUEUE_S" -v n="$RUNS" 'BEGIN { printf "%.3f", q / n }')
OVER=$(awk -v p="$PER" -v s="$SINGLE" 'BEGIN { printf "%.0f", (p - s) * 1000 }')

{
  echo "## rvc exp queue ($FILES-file dataset, trivial stage)"
  echo
  echo "| measure | value | target |"
  echo "|---|---|---|"
  echo "| workspace \`exp run\` (median of $RUNS) | ${SINGLE} s (CPU ${SINGLE_CPU} s) | |"
  echo "| queued run, \`--run-all -j 1\` ($RUNS runs) | ${PER} s per run (CPU ${PER_CPU} s) | |"
  echo "| queue overhead per experiment, wall | ${OVER} ms | <= 300 ms |"
  echo "| queue overhead per experiment, CPU | ${OVER_CPU} ms | |"
} > "$OUT_DIR/exp-queue.md"

if [ "$FULL" = 1 ]; then
  log "queue: $QUEUED runs with --run-all -j 2"
  sweep=$(seq -s, 2001 $((2000 + QUEUED)))
  rvc exp run -q --queue -S "a=$sweep"
  t0=$(now)
  rvc exp run -q --run-all -j 2
  FULL_S=$(secs "$t0" "$(now)" 3)
  TARGET=$(awk -v n="$QUEUED" -v s="$SINGLE" 'BEGIN { printf "%.1f", 1.2 * n * s / 2 }')
  echo "| $QUEUED queued runs, \`--run-all -j 2\` | ${FULL_S} s | <= ${TARGET} s |" >> "$OUT_DIR/exp-queue.md"
fi
cat "$OUT_DIR/exp-queue.md"
