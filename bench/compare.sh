#!/usr/bin/env bash
# bench/compare.sh: two builds of rvc side by side, in pairs, on the same repository: checkout
# into an emptied workspace, checkout with nothing to do, pull from a folder remote into an
# empty cache and workspace, and fetch into an empty cache. Each pair runs the new build then
# the old one; the median of the PAIRS ratios new/old is reported (below 1: the new one is faster).
#
#   OLD="node /path/to/old/dist/cli/main.js" bash bench/compare.sh            # 50,000 files x 2 KiB
#   OLD=… FOLDERS=20 PAIRS=3 bash bench/compare.sh                            # 10,000 of them
#
# The new build is RVC (default: this checkout's dist/). The repository is made, added and pushed
# with the new build. Between runs, what a run made is set aside, not deleted (see bench/lib.sh).
# Each build keeps its own hash cache only if their file names differ (format v3 `.state` against
# v2 `.json`); otherwise they share it.

set -euo pipefail
export LC_ALL=C
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
require_tools compare.sh
[ -n "${OLD:-}" ] || { log "compare.sh: set OLD to the command of the other build, e.g. OLD=\"node /path/dist/cli/main.js\""; exit 2; }
FOLDERS=${FOLDERS:-100}
PAIRS=${PAIRS:-5}
bench_work compare

log "compare.sh: generating $FOLDERS folders of 500 files x 2 KiB"
node "$HERE/gen.mjs" small "$WORK/gen"
R=$WORK/repo
bench_repo "$R" >/dev/null
mkdir data
for d in $(cd "$WORK/gen" && ls | head -n "$FOLDERS"); do mv "$WORK/gen/$d" data/; done
set_aside "$WORK/gen"
rvc add -q data
rvc remote add folder "$WORK/remote" >/dev/null
rvc push -q -r folder
RQ=$(q "$R")
state="$RQ/.rvc/tmp/state"

echo "### $(find data -type f | wc -l) files x 2 KiB, folder remote, $PAIRS pairs, load average $(cut -d' ' -f1 /proc/loadavg) at start"
echo
echo '| operation | new / old (median) | range | new wall s (median) | old wall s (median) |'
echo '| --- | ---: | ---: | ---: | ---: |'
pair 'checkout into an emptied workspace' "set_aside $RQ/data $state" "cd $RQ && $RVC checkout -q" \
  "set_aside $RQ/data $state" "cd $RQ && $OLD checkout -q"
# Each build's status first, untimed, so that its hash cache knows the files.
pair 'checkout, nothing to do' "(cd $RQ && $RVC status -q >/dev/null 2>&1 || true)" "cd $RQ && $RVC checkout -q" \
  "(cd $RQ && $OLD status -q >/dev/null 2>&1 || true)" "cd $RQ && $OLD checkout -q"
pair 'pull (folder remote), empty cache and workspace' "set_aside $RQ/data $RQ/.rvc/cache $state" "cd $RQ && $RVC pull -q -r folder" \
  "set_aside $RQ/data $RQ/.rvc/cache $state" "cd $RQ && $OLD pull -q -r folder"
pair 'fetch (folder remote), empty cache' "set_aside $RQ/.rvc/cache" "cd $RQ && $RVC fetch -q -r folder" \
  "set_aside $RQ/.rvc/cache" "cd $RQ && $OLD fetch -q -r folder"
