#!/usr/bin/env bash
# bench/report.sh: `rvc report` on a project of 200 stages and 50,000 tracked files.
#
#   npm run build                       # build dist/ once
#   bash bench/report.sh                # STAGES=200, the 50,000-file "small" dataset
#
# Builds (not timed): the small dataset of bench/gen.mjs (50,000 x 2 KiB in 100 folders) added
# as 5 pointer-tracked folders, a 200-stage chain (bench/pipeline-gen.mjs) reproduced once, a
# params file, and everything pushed to a local-folder remote and committed. Then times whole
# commands, node start-up included (median of RUNS): `rvc report --json`, and for comparison
# `rvc status` and `rvc status --cloud` of the same project.
# Results: Markdown on stdout and in bench/out/report.md; progress on stderr.
#
# Environment: RVC (default: node dist/cli/main.js), BENCH_DIR (default /tmp), STAGES=200, RUNS=5.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
require_tools report.sh
STAGES=${STAGES:-200}
RUNS=${RUNS:-5}
bench_work report
REPO=$WORK/repo
log() { printf '[report] %s\n' "$*" >&2; }

log "building the project in $REPO"
bench_repo "$REPO"
node "$HERE/gen.mjs" small "$WORK/small"
mkdir -p data
for i in 0 1 2 3 4; do
  mkdir -p "data/part$i"
  for j in $(seq $((i * 20)) $((i * 20 + 19))); do mv "$WORK/small/d$(printf %03d "$j")" "data/part$i/"; done
done
rvc add -q data/part0 data/part1 data/part2 data/part3 data/part4
node "$HERE/pipeline-gen.mjs" "$REPO" chain "$STAGES"
printf 'seed: 42\nlr: 0.1\n' > params.yaml
rvc repro -q
rvc remote add -q -d store "$WORK/remote"
rvc push -q
git add -A
git commit -qm project

measure() { # NAME ARGS…: median seconds of RUNS runs of rvc ARGS
  local name=$1; shift
  local t=()
  for _ in $(seq "$RUNS"); do
    local a; a=$(now)
    rvc "$@" >/dev/null || true
    t+=("$(secs "$a" "$(now)")")
  done
  printf '%s\n' "${t[@]}" | median
}
rvc status -q >/dev/null || true # warm the hash cache once, as a user's second command would
log "timing"
r=$(measure report report --json)
s=$(measure status status)
c=$(measure cloud status --cloud)
{
  echo "| command ($STAGES stages, 50,000 tracked files, folder remote) | median of $RUNS |"
  echo "|---|---|"
  echo "| \`rvc report --json\` | ${r} s |"
  echo "| \`rvc status\` | ${s} s |"
  echo "| \`rvc status --cloud\` | ${c} s |"
} | tee "$OUT_DIR/report.md"
