#!/usr/bin/env bash
# Race detection cost, side by side in one run (docs/races.md):
#  1. `tangle cc` builds next to native builds and ThreadSanitizer builds
#     (gcc -fsanitize=thread) of the same programs, run on their own: the
#     counter samples at full size, add_sub_lock taking the lock for every
#     update (lock-heavy: 8 million lock operations) and a memory-heavy
#     clean program (race_sum: threads fill and sum disjoint slices of a
#     large array); wall time and max RSS, with the ratios;
#  2. `tangle run --watch`: the cost of one caught access (race_sum loop,
#     N increments of a watched global, next to the same run unwatched),
#     and the slowdown of counter_race watched.
#
#   bench/race_bench.sh [-b BUILD] [-r RUNS] [-m MIB]
# RUNS (default 3) runs of each, interleaved; medians are reported.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build"
runs=3
mib=256
while getopts "b:r:m:h" opt; do
  case $opt in
    b) build=$(cd "$OPTARG" && pwd) ;;
    r) runs=$OPTARG ;;
    m) mib=$OPTARG ;;
    *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
tangle="$build/cli/tangle"
[ -x "$tangle" ] || { echo "race_bench: $tangle not built (ninja -C $build)" >&2; exit 2; }
cc=${CC:-gcc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tangle-race-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export TANGLE_LIB="$build/tracer/libtangle.so"

have_tsan=1
echo 'int main(void){return 0;}' > "$tmp/t.c"
"$cc" -fsanitize=thread "$tmp/t.c" -o "$tmp/t" 2>/dev/null || { have_tsan=0; echo "note: $cc -fsanitize=thread does not link: no TSan column" >&2; }

# ---- builds: native, tangle cc, tsan
progs=(counter_race add_sub_nolock add_sub_lock race_sum)
src() { case $1 in race_sum) echo "$root/bench/race_sum.c" ;; *) echo "$root/samples/$1.c" ;; esac; }
for p in "${progs[@]}"; do
  flags=(-O1 -g -fno-omit-frame-pointer -I"$root/samples" -pthread)
  "$cc" "${flags[@]}" "$(src "$p")" -o "$tmp/$p.native"
  "$tangle" cc "${flags[@]}" "$(src "$p")" -o "$tmp/$p.tangle"
  [ $have_tsan = 1 ] && "$cc" -fsanitize=thread "${flags[@]}" "$(src "$p")" -o "$tmp/$p.tsan"
done

# run NAME OUTFILE CMD...: appends "seconds maxrss_kib" of one run
run() {
  local out=$1; shift
  /usr/bin/time -f "%e %M" -o "$tmp/time" "$@" >/dev/null 2>"$tmp/stderr" || true
  tail -1 "$tmp/time" >> "$out"
}
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
col() { awk -v c="$2" '{print $c}' "$1" | median; }

# what is run: a program, or a program with arguments under its own name
cases=(counter_race add_sub_nolock add_sub_lock add_sub_lock_each race_sum)
bin_of() { case $1 in add_sub_lock_each) echo add_sub_lock ;; *) echo "$1" ;; esac; }
args_of() {
  case $1 in
    race_sum) echo "sum 2 $mib 4" ;;
    add_sub_lock_each) echo "2000000 each" ;;
    *) echo "" ;;             # the samples' defaults: the notes' full size
  esac
}

export TANGLE_RACE_EXITCODE=0 TSAN_OPTIONS="exitcode=0 log_path=$tmp/tsan.log"
printf '\n== tangle cc vs ThreadSanitizer (%s runs each, median; RSS = max resident)\n' "$runs"
printf 'load average: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-18s %9s %9s %9s %8s %8s %8s  %9s %9s %9s %8s\n' program native_s tangle_s tsan_s \
       tangle/n tsan/n tg/tsan native_MiB tangle_MiB tsan_MiB rss_tg/ts
for p in "${cases[@]}"; do
  a=$(args_of "$p") b=$(bin_of "$p")
  for i in $(seq "$runs"); do
    # shellcheck disable=SC2086
    run "$tmp/$p.n.res" "$tmp/$b.native" $a
    # shellcheck disable=SC2086
    run "$tmp/$p.t.res" "$tmp/$b.tangle" $a
    # shellcheck disable=SC2086
    [ $have_tsan = 1 ] && run "$tmp/$p.s.res" "$tmp/$b.tsan" $a
  done
  n=$(col "$tmp/$p.n.res" 1) t=$(col "$tmp/$p.t.res" 1)
  nm=$(col "$tmp/$p.n.res" 2) tm=$(col "$tmp/$p.t.res" 2)
  s=- sm=- rs=- rts=-
  if [ $have_tsan = 1 ]; then
    s=$(col "$tmp/$p.s.res" 1) sm=$(col "$tmp/$p.s.res" 2)
  fi
  awk -v p="$p" -v n="$n" -v t="$t" -v s="$s" -v nm="$nm" -v tm="$tm" -v sm="$sm" 'BEGIN {
    d = n > 0.005 ? n : 0.005
    printf "%-18s %9.3f %9.3f %9s %8.1f %8s %8s  %9.1f %9.1f %9s %8s\n", p, n, t,
      (s == "-" ? "-" : sprintf("%.3f", s)), t / d,
      (s == "-" ? "-" : sprintf("%.1f", s / d)), (s == "-" || s == 0 ? "-" : sprintf("%.2f", t / s)),
      nm / 1024, tm / 1024, (sm == "-" ? "-" : sprintf("%.1f", sm / 1024)),
      (sm == "-" || sm == 0 ? "-" : sprintf("%.2f", tm / sm)) }'
done

# ---- --watch
printf '\n== tangle run --watch (%s runs each, median)\n' "$runs"
loops=${WATCH_LOOPS:-20000}
for i in $(seq "$runs"); do
  run "$tmp/w.native" "$tmp/race_sum.native" loop "$loops"
  run "$tmp/w.plain" "$tangle" run -q -o "$tmp/w.trace" -- "$tmp/race_sum.native" loop "$loops"
  rm -f "$tmp/w.trace"
  run "$tmp/w.watch" "$tangle" run -q -o "$tmp/w.trace" --watch watched -- "$tmp/race_sum.native" loop "$loops"
  rm -f "$tmp/w.trace"
  run "$tmp/c.native" "$tmp/counter_race.native"
  run "$tmp/c.plain" "$tangle" run -q -o "$tmp/c.trace" -- "$tmp/counter_race.native"
  rm -f "$tmp/c.trace"
  run "$tmp/c.watch" "$tangle" run -q -o "$tmp/c.trace" --watch n -- "$tmp/counter_race.native"
  rm -f "$tmp/c.trace"
done
wn=$(col "$tmp/w.native" 1) wp=$(col "$tmp/w.plain" 1) ww=$(col "$tmp/w.watch" 1)
cn=$(col "$tmp/c.native" 1) cp=$(col "$tmp/c.plain" 1) cw=$(col "$tmp/c.watch" 1)
awk -v n="$loops" -v wn="$wn" -v wp="$wp" -v ww="$ww" -v cn="$cn" -v cp="$cp" -v cw="$cw" 'BEGIN {
  printf "race_sum loop %d: native %.3f s, tangle run %.3f s, --watch %.3f s: %.1f us per caught access\n",
    n, wn, wp, ww, (ww - wp) * 1e6 / (n + 1)
  d = cn > 0.005 ? cn : 0.005
  printf "counter_race: native %.3f s, tangle run %.3f s (x%.1f), --watch n %.3f s (x%.1f native, x%.2f tangle run)\n",
    cn, cp, cp / d, cw, cw / d, cw / (cp > 0 ? cp : 1) }'
printf 'load average: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
