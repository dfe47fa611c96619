#!/usr/bin/env bash
# bench/plots.sh: `rvc plots show` and `rvc plots diff` on many points.
#
#   npm run build                       # build dist/ once
#   bash bench/plots.sh                 # 10 plots × 10,000 points; diff over 20 revisions
#   PLOTS=20 POINTS=50000 REVS=50 bash bench/plots.sh
#
# Builds (not timed) a repository with PLOTS CSV plot files of POINTS rows each (step, loss,
# acc), declared in rvc.yaml's top-level plots:, and REVS commits each changing every file.
# Times whole commands, node start-up included (median of RUNS):
#   1. `rvc plots show` (page written: data read, templates filled, chart library inlined)
#   2. `rvc plots diff` over the REVS revisions and the workspace
#   3. `rvc plots show --history -n REVS`: the metrics file's 5 metrics over the REVS commits
# Results: Markdown on stdout and in bench/out/plots.md; progress on stderr.
#
# Environment: RVC (default: node dist/cli/main.js), BENCH_DIR (default /tmp), PLOTS=10,
# POINTS=10000, REVS=20, RUNS=3.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
require_tools plots.sh
PLOTS=${PLOTS:-10}
POINTS=${POINTS:-10000}
REVS=${REVS:-20}
RUNS=${RUNS:-3}
bench_work plots
REPO=$WORK/repo
log() { printf '[plots] %s\n' "$*" >&2; }

log "building $PLOTS plots × $POINTS points, $REVS revisions in $REPO"
bench_repo "$REPO"
{
  echo "plots:"
  for i in $(seq "$PLOTS"); do printf '  - logs/p%s.csv:\n      x: step\n      y: loss\n' "$i"; done
  printf 'metrics:\n  - metrics.json\n'
} > rvc.yaml
mkdir -p logs
gen() { # gen REV: every plot file as of revision REV
  node -e '
    const fs = require("fs");
    const [plots, points, rev] = process.argv.slice(1).map(Number);
    for (let p = 1; p <= plots; p++) {
      const rows = ["step,loss,acc"];
      for (let s = 0; s < points; s++) rows.push(`${s},${(1 / (1 + s * 0.001 * (rev + p))).toFixed(6)},${(1 - 1 / (2 + s * 0.001)).toFixed(6)}`);
      fs.writeFileSync(`logs/p${p}.csv`, rows.join("\n") + "\n");
    }
    fs.writeFileSync("metrics.json", JSON.stringify({ loss: 1 / (1 + rev), acc: 1 - 1 / (2 + rev), train: { loss: 2 / (1 + rev), acc: 1 - 1 / (3 + rev) }, step: rev }));' "$PLOTS" "$POINTS" "$1"
}
REVLIST=()
for r in $(seq "$REVS"); do
  gen "$r"
  git add -A && git commit -qm "rev $r"
  git tag "r$r"
  REVLIST+=("r$r")
done
gen 0

timeit() {
  local times=() t0
  for _ in $(seq "$RUNS"); do
    t0=$(now)
    "$@" > "$WORK/out.txt"
    times+=("$(secs "$t0" "$(now)")")
  done
  printf '%s\n' "${times[@]}" | median
}
log "rvc plots show ($RUNS runs)"
SHOW_S=$(timeit $RVC plots show -q)
SHOW_MB=$(du -m rvc_plots/index.html | cut -f1)
log "Chromium rendering that page ($RUNS runs)"
RENDER=$(node "$HERE/plots-render.mjs" rvc_plots/index.html "$RUNS" 2>/dev/null || echo "n/a (no Chromium)")
log "rvc plots diff over $REVS revisions ($RUNS runs)"
DIFF_S=$(timeit $RVC plots diff -q "${REVLIST[@]}")
DIFF_MB=$(du -m rvc_plots/index.html | cut -f1)
log "rvc plots show --history -n $REVS ($RUNS runs)"
HIST_S=$(timeit $RVC plots show --history -n "$REVS" -q)
HIST_MB=$(du -m rvc_plots/index.html | cut -f1)
log "rvc metrics show -n $REVS ($RUNS runs)"
MSHOW_S=$(timeit $RVC metrics show -n "$REVS" --json)

{
  echo "### Plots: $PLOTS plots × $POINTS points"
  echo
  echo "$(nproc) cores, load average at the end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a); node $(node -v)"
  echo
  echo "| operation | time | page |"
  echo "|---|---|---|"
  echo "| \`rvc plots show\` (whole command, median of $RUNS) | $SHOW_S s | $SHOW_MB MB |"
  echo "| headless Chromium renders that page (\`bench/plots-render.mjs\`: navigation until every plot settled; median, plots ok) | ${RENDER% *} s | ${RENDER#* } ok |"
  echo "| \`rvc metrics show -n $REVS --json\` (one row per commit, median of $RUNS) | $MSHOW_S s | |"
  echo "| \`rvc plots diff\` over $REVS revisions and the workspace (whole command, median of $RUNS) | $DIFF_S s | $DIFF_MB MB |"
  echo "| \`rvc plots show --history -n $REVS\`: 5 metrics over $REVS commits and the workspace (whole command, median of $RUNS) | $HIST_S s | $HIST_MB MB |"
} | tee "$OUT_DIR/plots.md"
