#!/bin/sh
# run_expect.sh TANGLE clean|race VARIABLE WATCH PROGRAM [ARGS...]
# Runs PROGRAM under `tangle run` (with --watch WATCH unless WATCH is -) and
# checks the verdict: clean means PROGRAM's own status 0 and no race
# report; race means status 66 and a report "tangle: data race on VARIABLE (".
tangle=$1 verdict=$2 var=$3 watch=$4
shift 4
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
if [ "$watch" = - ]; then
    "$tangle" run -q -o "$dir/t.trace" -- "$@" >/dev/null 2>"$dir/err"
else
    "$tangle" run -q -o "$dir/t.trace" --watch "$watch" -- "$@" >/dev/null 2>"$dir/err"
fi
status=$?
case $verdict in
clean)
    if [ $status -ne 0 ] || grep -q 'data race' "$dir/err"; then
        echo "expected clean, got status $status:"; cat "$dir/err"; exit 1
    fi ;;
race)
    if [ $status -ne 66 ]; then
        echo "expected status 66, got $status:"; cat "$dir/err"; exit 1
    fi
    if ! grep -q "^tangle: data race on $var (" "$dir/err"; then
        echo "expected a race on $var:"; cat "$dir/err"; exit 1
    fi ;;
*)
    echo "usage: run_expect.sh TANGLE clean|race VARIABLE WATCH PROGRAM [ARGS...]"; exit 2 ;;
esac
exit 0
