#!/usr/bin/env bash
# Whole-program slowdown under `tangle run` (live analysis included), side by
# side with Helgrind and ThreadSanitizer on the same programs, in one run.
#
#   bench/run_overhead.sh [-b BUILD] [-r RUNS] [WORKLOAD ...]
#
# A WORKLOAD is "sample[:arg,arg...]"; the defaults are
#   add_sub_lock:2000000,each (the issue's lock-heavy case: 2 threads x
#                             2,000,000 updates of a, one lock pair each)
#   add_sub_lock:2000000      (the note's code: the lock held around each loop)
#   gil_contention            (4 threads taking one global lock per step)
# Besides native and `tangle run`, "preload" is the program with only
# libtangle.so preloaded (TANGLE_TRACE set, no live analysis): what the
# program itself pays for being traced.
# Each configuration runs RUNS times (default 5), interleaved round-robin so
# drift hits all alike; the median wall and CPU times are reported with
# their ratios to the native run. Tools that are missing are skipped with a
# note.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build"
runs=5
while getopts "b:r:h" opt; do
  case $opt in
    b) build=$(cd "$OPTARG" && pwd) ;;
    r) runs=$OPTARG ;;
    *) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
workloads=("$@")
[ ${#workloads[@]} -gt 0 ] || workloads=(add_sub_lock:2000000,each add_sub_lock:2000000 gil_contention)

tangle="$build/cli/tangle"
[ -x "$tangle" ] || { echo "run_overhead: $tangle not built (ninja -C $build)" >&2; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tangle-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

have_helgrind=1
command -v valgrind >/dev/null || { have_helgrind=0; echo "note: valgrind not installed: no Helgrind column" >&2; }
cc=${CC:-gcc}

# time_one NAME CMD...: runs CMD with its output discarded and appends its
# wall time and CPU time (user + system, children included: tangle and
# PROGRAM together) in seconds to $tmp/NAME.wall and $tmp/NAME.cpu. A
# failing run aborts the bench. CPU time is the steadier figure on a busy
# machine; wall time is what a user waits.
time_one() {
  local name=$1; shift
  local TIMEFORMAT='%R %U %S' t status=0
  { time "$@" >/dev/null 2>"$tmp/$name.err"; } 2>"$tmp/$name.time" || status=$?
  if [ $status -ne 0 ]; then
    echo "run_overhead: $name failed (status $status): $*" >&2
    tail -5 "$tmp/$name.err" >&2
    exit 1
  fi
  read -r real user sys <"$tmp/$name.time"
  echo "$real" >>"$tmp/$name.wall"
  awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }' >>"$tmp/$name.cpu"
}

median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

printf '%-28s %-10s %10s %8s %10s %8s\n' "workload" "tool" "wall s" "ratio" "cpu s" "ratio"
for w in "${workloads[@]}"; do
  sample=${w%%:*}
  args=()
  [ "$w" = "$sample" ] || IFS=, read -r -a args <<<"${w#*:}"
  exe="$build/samples/$sample"
  [ -x "$exe" ] || { echo "run_overhead: $exe not built" >&2; exit 2; }

  configs=(native preload tangle)
  [ $have_helgrind = 1 ] && configs+=(helgrind)
  tsan_exe="$tmp/$sample.tsan"
  if "$cc" -fsanitize=thread -g -O1 -fno-omit-frame-pointer -I"$root/samples" \
       "$root/samples/$sample.c" -o "$tsan_exe" -pthread 2>"$tmp/tsan-build.err"; then
    configs+=(tsan)
  else
    echo "note: $cc -fsanitize=thread failed: no ThreadSanitizer column for $sample" >&2
  fi

  rm -f "$tmp"/*.wall "$tmp"/*.cpu
  for ((i = 0; i < runs; i++)); do
    for c in "${configs[@]}"; do
      case $c in
        native)   time_one native "$exe" "${args[@]}" ;;
        # --exitcode 0: a finding is not a failed run here, only time counts
        preload)  time_one preload env LD_PRELOAD="$build/tracer/libtangle.so" \
                    TANGLE_TRACE="$tmp/preload.trace" "$exe" "${args[@]}"
                  rm -f "$tmp/preload.trace" ;;
        tangle)   time_one tangle "$tangle" run -q --exitcode 0 -o "$tmp/run.trace" -- "$exe" "${args[@]}" ;;
        helgrind) time_one helgrind valgrind --tool=helgrind -q "$exe" "${args[@]}" ;;
        tsan)     time_one tsan env TSAN_OPTIONS=report_bugs=0 "$tsan_exe" "${args[@]}" ;;
      esac
    done
  done

  base_wall=$(median "$tmp/native.wall")
  base_cpu=$(median "$tmp/native.cpu")
  label="$sample${args[*]:+ ${args[*]}}"
  for c in "${configs[@]}"; do
    awk -v w="$label" -v c="$c" -v mw="$(median "$tmp/$c.wall")" -v bw="$base_wall" \
        -v mc="$(median "$tmp/$c.cpu")" -v bc="$base_cpu" \
      'BEGIN { printf "%-28s %-10s %10.3f %7.2fx %10.3f %7.2fx\n", w, c, mw, mw / bw, mc, (bc > 0 ? mc / bc : 0) }'
  done
done
echo "($runs runs each, interleaved; medians; ratio = tool / native; preload = libtangle.so alone, no analysis;"
echo " tangle includes its live analysis;"
echo " cpu = user + system time of all processes of the run; load average now: $(cut -d' ' -f1 /proc/loadavg))"
