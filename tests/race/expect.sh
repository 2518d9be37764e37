#!/bin/sh
# expect.sh clean|race VARIABLE PROGRAM [ARGS...]
# Runs a `tangle cc` build on its own and checks its verdict: clean means
# exit status 0 and no report; race means status 66 and a report that names
# VARIABLE ("tangle: data race on VARIABLE (").
verdict=$1 var=$2
shift 2
err=$(mktemp)
trap 'rm -f "$err"' EXIT
"$@" >/dev/null 2>"$err"
status=$?
case $verdict in
clean)
    if [ $status -ne 0 ] || grep -q 'data race' "$err"; then
        echo "expected clean, got status $status:"; cat "$err"; exit 1
    fi ;;
race)
    if [ $status -ne 66 ]; then
        echo "expected status 66, got $status:"; cat "$err"; exit 1
    fi
    if ! grep -q "^tangle: data race on $var (" "$err"; then
        echo "expected a race on $var:"; cat "$err"; exit 1
    fi ;;
*)
    echo "usage: expect.sh clean|race VARIABLE PROGRAM [ARGS...]"; exit 2 ;;
esac
exit 0
