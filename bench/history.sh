#!/usr/bin/env bash
# bench/history.sh: reading rvc's pointers across a long git history, without checking out.
#
#   npm run build                       # build dist/ once
#   bash bench/history.sh               # 500 commits, 50 pointer files
#   COMMITS=2000 POINTERS=200 bash bench/history.sh
#
# Builds (not timed) a repository whose history has COMMITS commits; each commit changes a
# tenth of POINTERS pointer files (one in ten tracks a folder of 200 files whose manifest is in
# the cache, the others one file) and one of 100 source files (bench/history-gen.mjs, git
# fast-import, same history every run). Then times:
#   1. `rvc diff <first> <last> --json` and `rvc gc --all-commits --dry-run`: whole commands,
#      node start-up included (median of RUNS)
#   2. a walk of every commit reachable from any ref, reading every output each records
#      (History.outsAt, one git cat-file --batch for the whole walk), in one node process
#   3. the library's diff between PAIRS consecutive commits, in the same process
#   4. baseline: the naive way, `git ls-tree` then one `git show` per pointer file per commit,
#      on BASELINE_COMMITS commits, extrapolated to all of them
# Results: Markdown on stdout and in bench/out/history.md; progress on stderr.
#
# Environment: RVC (default: node dist/cli/main.js), BENCH_DIR (default /tmp), COMMITS=500,
# POINTERS=50, RUNS=3, PAIRS=50, BASELINE_COMMITS=20.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
COMMITS=${COMMITS:-500}
POINTERS=${POINTERS:-50}
RUNS=${RUNS:-3}
PAIRS=${PAIRS:-50}
BASELINE_COMMITS=${BASELINE_COMMITS:-20}
OUT_DIR=$HERE/out
mkdir -p "$OUT_DIR"

WORK=$(mktemp -d "${BENCH_DIR:-/tmp}/rvc-bench-history.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
REPO=$WORK/repo
log() { echo "[history] $*" >&2; }

log "building $COMMITS commits x $POINTERS pointers in $REPO"
mkdir -p "$REPO" && cd "$REPO"
git init -q -b main
git config user.email bench@example.com && git config user.name bench && git config commit.gpgsign false
$RVC init -q
git add -A && git commit -qm init
t0=$(now)
node "$HERE/history-gen.mjs" "$REPO" "$COMMITS" "$POINTERS"
log "built in $(secs "$t0" "$(now)") s"
FIRST=$(git rev-list --reverse main | sed -n 2p)
LAST=$(git rev-parse main)
NCOMMITS=$(git rev-list --count main)

log "rvc diff first..last ($RUNS runs)"
times=()
for _ in $(seq "$RUNS"); do
  t0=$(now)
  $RVC diff "$FIRST" "$LAST" --json > "$WORK/diff.json"
  times+=("$(secs "$t0" "$(now)")")
done
DIFF_S=$(printf '%s\n' "${times[@]}" | median)
DIFF_N=$(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(r.added.length+r.modified.length+r.deleted.length+r.renamed.length)' "$WORK/diff.json")

log "rvc gc --all-commits --dry-run ($RUNS runs)"
times=()
for _ in $(seq "$RUNS"); do
  t0=$(now)
  $RVC gc --all-commits --dry-run -q > /dev/null
  times+=("$(secs "$t0" "$(now)")")
done
GC_S=$(printf '%s\n' "${times[@]}" | median)

log "walk of every commit + $PAIRS consecutive diffs"
WALK=$(node "$HERE/history-walk.mjs" "$REPO" "$PAIRS")
field() { node -e 'console.log(JSON.parse(process.argv[1])[process.argv[2]])' "$WALK" "$1"; }
WALK_S=$(awk -v m="$(field walkMs)" 'BEGIN { printf "%.2f", m / 1000 }')
PAIRS_S=$(awk -v m="$(field pairsMs)" 'BEGIN { printf "%.2f", m / 1000 }')

log "baseline: git show per pointer on $BASELINE_COMMITS commits"
t0=$(now)
for c in $(git rev-list main | head -n "$BASELINE_COMMITS"); do
  for f in $(git ls-tree -r --name-only "$c" | grep '\.rvc$'); do git show "$c:$f" > /dev/null; done
done
BASE_S=$(secs "$t0" "$(now)")
BASE_ALL=$(awk -v s="$BASE_S" -v n="$BASELINE_COMMITS" -v all="$NCOMMITS" 'BEGIN { printf "%.0f", s / n * all }')

{
  echo "### History: $NCOMMITS commits, $POINTERS pointer files"
  echo
  echo "$(nproc) cores, load average at the end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a); node $(node -v), git $(git --version | cut -d' ' -f3)"
  echo
  echo "| operation | time |"
  echo "|---|---|"
  echo "| \`rvc diff <first> <last> --json\` ($DIFF_N files changed; whole command, median of $RUNS) | $DIFF_S s |"
  echo "| \`rvc gc --all-commits --dry-run\` (every output at every commit, manifests expanded; whole command, median of $RUNS) | $GC_S s |"
  echo "| read every output at all $(field commits) commits ($(field outs) outputs; one process, History) | $WALK_S s |"
  echo "| library diff between $(field pairs) consecutive commit pairs ($(field changed) changes; one process) | $PAIRS_S s |"
  echo "| baseline: \`git show\` per pointer file, $BASELINE_COMMITS commits | $BASE_S s (≈ $BASE_ALL s for all $NCOMMITS) |"
} | tee "$OUT_DIR/history.md"
