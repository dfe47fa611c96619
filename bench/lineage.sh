#!/usr/bin/env bash
# bench/lineage.sh: `rvc lineage` over a long pipeline history, read from git objects.
#
#   npm run build                       # build dist/ once
#   bash bench/lineage.sh               # 500 commits, 10 more pipeline files
#   COMMITS=2000 SUBS=50 bash bench/lineage.sh
#
# Builds (not timed) a repository whose history has COMMITS commits, each recording a
# data/raw pointer (new version every 50 commits), a root two-stage pipeline whose lock changes
# in every commit, and SUBS more pipeline files (bench/lineage-gen.mjs, git fast-import). Times
# whole commands, node start-up included (median of RUNS):
#   1. `rvc lineage --uses data/raw --oid <first version> --all-commits --json` (the audit question)
#   2. `rvc lineage model.bin --json` at HEAD (forward, first appearances over the whole history)
# Results: Markdown on stdout and in bench/out/lineage.md; progress on stderr.
#
# Environment: RVC (default: node dist/cli/main.js), BENCH_DIR (default /tmp), COMMITS=500,
# SUBS=10, RUNS=3.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
require_tools lineage.sh
COMMITS=${COMMITS:-500}
SUBS=${SUBS:-10}
RUNS=${RUNS:-3}
bench_work lineage
REPO=$WORK/repo
log() { printf '[lineage] %s\n' "$*" >&2; }

log "building $COMMITS commits in $REPO"
bench_repo "$REPO"
git add -A && git commit -qm init
V0=$(node "$HERE/lineage-gen.mjs" "$REPO" "$COMMITS" "$SUBS")
NCOMMITS=$(git rev-list --count main)

timeit() {
  local times=() t0
  for _ in $(seq "$RUNS"); do
    t0=$(now)
    "$@" > "$WORK/out.json"
    times+=("$(secs "$t0" "$(now)")")
  done
  printf '%s\n' "${times[@]}" | median
}
log "rvc lineage --uses ($RUNS runs)"
USES_S=$(timeit $RVC lineage --uses data/raw --oid "$V0" --all-commits --json)
USED=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).used.length)' "$WORK/out.json")
log "rvc lineage model.bin ($RUNS runs)"
FWD_S=$(timeit $RVC lineage model.bin --json)

{
  echo "### Lineage: $NCOMMITS commits, $((SUBS + 1)) pipeline files"
  echo
  echo "$(nproc) cores, load average at the end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a); node $(node -v), git $(git --version | cut -d' ' -f3)"
  echo
  echo "| operation | time |"
  echo "|---|---|"
  echo "| \`rvc lineage --uses data/raw --oid <v0> --all-commits --json\` ($USED commits found; whole command, median of $RUNS) | $USES_S s |"
  echo "| \`rvc lineage model.bin --json\` at HEAD (whole command, median of $RUNS) | $FWD_S s |"
} | tee "$OUT_DIR/lineage.md"
