#!/bin/sh
# standalone.sh TANGLE PROGRAM
# A `tangle cc` build of ticket_lock run on its own: the report at exit has
# both accesses with their stacks (the previous one's too), stacks end at
# main, and no file is made (no trace, not even a temporary one). With
# TANGLE_TRACE set it writes that trace, and `tangle report` finds the race.
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
tangle=$(abs "$1") prog=$(abs "$2")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/tmp" "$dir/cwd"
fail() { echo "$1"; cat "$dir/err"; exit 1; }
(cd "$dir/cwd" && TMPDIR="$dir/tmp" "$prog" >/dev/null 2>"$dir/err")
status=$?
[ $status -eq 66 ] || fail "expected status 66, got $status:"
grep -q '^tangle: data race on ticket (global int, 4 bytes)$' "$dir/err" || fail "no race on ticket:"
grep -A1 '^  Previous .* by thread' "$dir/err" | grep -q '#0 ' || fail "no stack for the previous access:"
if grep -q 'no longer in the thread' "$dir/err"; then fail "a previous access's stack was lost:"; fi
if grep -q '__libc_start' "$dir/err"; then fail "a stack goes below main:"; fi
grep -q '^tangle: reported [0-9]* data races*$' "$dir/err" || fail "no summary line:"
left=$(find "$dir/tmp" "$dir/cwd" -mindepth 1)
[ -z "$left" ] || fail "files left behind: $left"

TANGLE_TRACE="$dir/t.trace" "$prog" >/dev/null 2>"$dir/err"
[ $? -eq 66 ] || fail "with TANGLE_TRACE: expected status 66:"
[ -s "$dir/t.trace" ] || fail "TANGLE_TRACE set but no trace written:"
"$tangle" report "$dir/t.trace" >/dev/null 2>"$dir/err"
[ $? -eq 66 ] || fail "tangle report on the kept trace: expected status 66:"
grep -q 'data race on ticket' "$dir/err" || fail "tangle report: no race on ticket:"
exit 0
