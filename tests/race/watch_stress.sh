#!/usr/bin/env bash
# watch_stress.sh [-b BUILD] [-n RUNS] [-l LOADERS] [-s]
# Runs shared_money and counter_race under `tangle run --watch` RUNS times
# each (default 100) and counts, per program, the runs that missed: no race
# reported on the watched variable, or fewer WATCH_ACCESS events in the
# trace than the program makes (shared_money 3, counter_race 101, as
# compiled by the project's build). -l N keeps N busy loops running
# alongside (a loaded machine); -s single-steps every access
# (TANGLE_WATCH_STEP=1) instead of emulating it, which exercises stopping
# the other threads. Then ticket_lock_joined and add_sub_lock 2000 (their
# mutex shares the page: futex traps) as many times: any race reported
# there is a false one. Not a meson test: it takes minutes. Prints one line
# per program and exits 1 if any run missed or was wrong.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build="$root/build" runs=100 loaders=0
while getopts "b:n:l:s" opt; do
  case $opt in
    b) build=$(cd "$OPTARG" && pwd) ;;
    n) runs=$OPTARG ;;
    l) loaders=$OPTARG ;;
    s) export TANGLE_WATCH_STEP=1 ;;
    *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
tangle="$build/cli/tangle"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tangle-watch-stress.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
for _ in $(seq "$loaders"); do
  ( while :; do :; done ) &
  pids+=($!)
done

failed=0
for spec in "shared_money money 3" "counter_race n 101"; do
  read -r prog var want <<< "$spec"
  missed_race=0 missed_access=0 worst=$want
  start=$(date +%s.%N)
  for i in $(seq "$runs"); do
    "$tangle" run -o "$tmp/t.trace" --watch "$var" -- "$build/samples/$prog" >/dev/null 2>"$tmp/err"
    status=$?
    if [ $status -ne 66 ] || ! grep -q "data race on $var " "$tmp/err"; then
      missed_race=$((missed_race + 1))
    fi
    got=$("$tangle" dump "$tmp/t.trace" 2>/dev/null | grep -c "WATCH_ACCESS *$var ")
    if [ "$got" -lt "$want" ]; then
      missed_access=$((missed_access + 1))
      [ "$got" -lt "$worst" ] && worst=$got
    fi
    rm -f "$tmp/t.trace"
  done
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  printf '%-18s %s runs%s%s: race missed in %d, accesses missed in %d (fewest seen %d of %d), %.1f s\n' \
    "$prog" "$runs" "${TANGLE_WATCH_STEP:+, every access stepped}" \
    "$([ "$loaders" -gt 0 ] && echo ", $loaders busy loops")" \
    "$missed_race" "$missed_access" "$worst" "$want" "$secs"
  [ $((missed_race + missed_access)) -gt 0 ] && failed=1
done
for spec in "ticket_lock_joined ticket" "add_sub_lock a 2000"; do
  read -r prog var args <<< "$spec"
  wrong=0
  start=$(date +%s.%N)
  for i in $(seq "$runs"); do
    # shellcheck disable=SC2086
    "$tangle" run -o "$tmp/t.trace" --watch "$var" -- "$build/samples/$prog" $args >/dev/null 2>"$tmp/err"
    status=$?
    if [ $status -ne 0 ] || grep -q "data race" "$tmp/err"; then
      wrong=$((wrong + 1))
      keep="${TMPDIR:-/tmp}/watch_stress-$prog-$$.err"
      [ -e "$keep" ] || { echo "status $status" > "$keep"; cat "$tmp/err" >> "$keep"; echo "first wrong run kept: $keep"; }
    fi
    rm -f "$tmp/t.trace"
  done
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  printf '%-18s %s runs%s%s: clean, reported or failed in %d, %.1f s\n' \
    "$prog" "$runs" "${TANGLE_WATCH_STEP:+, every access stepped}" \
    "$([ "$loaders" -gt 0 ] && echo ", $loaders busy loops")" "$wrong" "$secs"
  [ $wrong -gt 0 ] && failed=1
done
exit $failed
