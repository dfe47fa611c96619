#!/usr/bin/env bash
# bench/scale-pull.sh: the pulls of bench/scale.sh again, in the work folder a `KEEP=1` run of it
# left (its repository, folder remote and S3 server's files), without generating, adding or
# pushing anything: each pull in a new fresh `git clone` of the repository (empty cache and
# workspace). Meant for comparing two builds on the same data, e.g.
#
#   KEEP=1 bash bench/scale.sh 200000                    # logs "kept /tmp/rvc-scale.XXXXXX"
#   bash bench/scale-pull.sh /tmp/rvc-scale.XXXXXX       # this build
#   RVC="node /other/build/dist/cli/main.js" bash bench/scale-pull.sh /tmp/rvc-scale.XXXXXX
#
# Measures wall time and peak RSS (GNU time %M) of `rvc pull -r s3` (the S3 server is started
# over the kept files and stopped at exit) and, with FOLDER=1, of `rvc pull` from the folder
# remote; with SAMPLE=1 it also writes the resident size every second to
# <work>/rss-<command>-<n>.txt (seconds since start, MiB), to see which step peaks. The clones
# are deleted at exit, after every measurement.
#
# With PUSH=1 it also measures `rvc push` from the kept repository to a new, empty prefix of
# the S3 server (the packed push of scale.sh again); with NO_PULL=1 as well, only that push
# (which needs no S3 files kept: a `KEEP=1 NO_S3=1` run of scale.sh will do).
#
# Environment: RVC (the rvc command), FOLDER=1, SAMPLE=1, PUSH=1, NO_PULL=1, NO_S3=1 (folder
# pull only).

set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

WORK=${1:-}
[ -n "$WORK" ] && [ -d "$WORK/repo" ] || { echo "usage: bash bench/scale-pull.sh <work folder kept by KEEP=1 bash bench/scale.sh>" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 1; }
require_tools scale-pull.sh

export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN || true
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true

S3PID=''
CLONES=()
# At exit the S3 server stops and the clones go (after every measurement: on ext4 freed inodes
# slow the file creation of a pull that follows soon after, see set_aside in lib.sh; a clone
# left behind would hold N more inodes).
cleanup() {
  if [ -n "$S3PID" ]; then kill "$S3PID" 2>/dev/null || true; wait "$S3PID" 2>/dev/null || true; fi
  local c
  for c in "${CLONES[@]}"; do chmod -R u+w "$c" 2>/dev/null || true; rm -rf "$c"; done
}
trap cleanup EXIT
N=$(find "$WORK/repo/data" -type f | wc -l)
RUN=$(date +%s)

# timed LABEL ARGS…: `rvc ARGS` in the current folder under GNU time (sampled with SAMPLE=1);
# prints its row.
timed() {
  local label=$1; shift
  local tf=$WORK/time-$label-$RUN.txt
  log "$* ($label)…"
  # The subshell execs GNU time, whose child is rvc (node): that child is sampled.
  local err=$WORK/err-$label-$RUN.txt
  ( eval "exec /usr/bin/time -f '%e %M' -o $(q "$tf") $RVC"' "$@"' ) >"$WORK/out-$label-$RUN.txt" 2>"$err" &
  local tp=$! child rss t0
  t0=$(date +%s)
  if [ -n "${SAMPLE:-}" ]; then
    : >"$WORK/rss-$label-$RUN.txt"
    while kill -0 "$tp" 2>/dev/null; do
      for child in $(pgrep -P "$tp" || true); do
        rss=$(awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$child/status" 2>/dev/null || true)
        [ -n "$rss" ] && echo "$(($(date +%s) - t0)) $rss" >>"$WORK/rss-$label-$RUN.txt"
      done
      sleep 1
    done
  fi
  local rc=0
  wait "$tp" || rc=$?
  ((rc == 0)) || { log "FAILED ($rc):"; tail -n 20 "$err" >&2; exit 1; }
  local secs kb mib
  read -r secs kb < <(tail -n1 "$tf")
  mib=$(awk -v k="$kb" 'BEGIN { printf "%.0f", k / 1024 }')
  log "  $secs s, peak RSS $mib MiB"
  echo "| \`rvc $*\` ($label) | $secs s | $mib MiB |"
}

# pull_in LABEL ARGS…: a fresh clone, `rvc pull ARGS` in it, checked (deleted at exit).
pull_in() {
  local label=$1; shift
  local clone=$WORK/clone-$label-$RUN
  CLONES+=("$clone")
  git clone -q "$WORK/repo" "$clone"
  cd "$clone"
  # The endpoint the repository records is that of the server scale.sh ran: this one's port is
  # set in the clone's local configuration.
  [ "$label" = s3 ] && rvc remote modify --local s3 endpointurl "$ENDPOINT" -q
  timed "$label, fresh clone" pull "$@"
  local got
  got=$(find "$clone/data" -type f | wc -l)
  [ "$got" -eq "$N" ] || { log "pull restored $got of $N files"; exit 1; }
  cd "$WORK"
}

echo "| command | wall time | peak RSS |"
echo "|---|---:|---:|"
[ -n "${FOLDER:-}${NO_S3:-}" ] && [ -z "${NO_PULL:-}" ] && pull_in folder
if [ -z "${NO_S3:-}" ]; then
  start_s3rver scale-pull.sh
  [ -z "${NO_PULL:-}" ] && pull_in s3 -r s3
  if [ -n "${PUSH:-}" ]; then
    # From the kept repository (its cache holds every object) to a new, empty prefix.
    cd "$WORK/repo"
    rvc remote add --local -f "push$RUN" "s3://bench/push-$RUN" -q
    rvc remote modify --local "push$RUN" endpointurl "$ENDPOINT" -q
    timed "S3 server, new prefix" push -r "push$RUN"
    cd "$WORK"
  fi
fi
echo
echo "$N files; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
