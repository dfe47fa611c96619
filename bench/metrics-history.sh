#!/usr/bin/env bash
# bench/metrics-history.sh: `rvc metrics show -A` over a long history.
#
#   npm run build                       # build dist/ once
#   bash bench/metrics-history.sh       # 500 commits
#   COMMITS=2000 bash bench/metrics-history.sh
#
# Builds (not timed) a repository whose COMMITS commits each change metrics.json (declared by
# the top-level `metrics:` of rvc.yaml), written by one `git fast-import`. Times the whole
# command `rvc metrics show -A --json` (one row per commit; median of RUNS). Target: <= 2 s for
# 500 commits. Results: Markdown on stdout and in bench/out/metrics-history.md.
#
# Environment: RVC (default: node dist/cli/main.js), BENCH_DIR (default /tmp), COMMITS=500, RUNS=3.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
require_tools metrics-history.sh
COMMITS=${COMMITS:-500}
RUNS=${RUNS:-3}
bench_work metrics
REPO=$WORK/repo
log "building $COMMITS commits in $REPO"
bench_repo "$REPO"
printf 'metrics:\n  - metrics.json\n' > rvc.yaml
git add -A && git commit -qm init
node -e '
const n = Number(process.argv[1]);
const out = [];
for (let i = 1; i <= n; i++) {
  const m = JSON.stringify({ acc: i / n, loss: 1 - i / n, step: i, nested: { f1: (i % 7) / 7 } });
  out.push(`commit refs/heads/main\ncommitter bench <bench@example.com> ${1700000000 + i} +0000\ndata <<EOM\nrun ${i}\nEOM\n${i === 1 ? "from refs/heads/main^0\n" : ""}M 100644 inline metrics.json\ndata ${Buffer.byteLength(m)}\n${m}\n`);
}
process.stdout.write(out.join(""));
' "$COMMITS" | git fast-import --quiet
git reset -q --hard main
times=()
for _ in $(seq "$RUNS"); do
  t0=$(now)
  rvc metrics show -A --json > "$WORK/out.json"
  times+=("$(secs "$t0" "$(now)")")
done
rows=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).revisions.length)' "$WORK/out.json")
{
  echo "| command ($COMMITS commits) | median of $RUNS | rows |"
  echo "|---|---|---|"
  echo "| \`rvc metrics show -A --json\` | $(printf '%s\n' "${times[@]}" | median) s | $rows |"
} | tee "$OUT_DIR/metrics-history.md"
