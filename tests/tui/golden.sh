#!/usr/bin/env bash
# tests/tui/golden.sh: the real `tangle view` in a headless tmux, driven by
# keys, its screens compared with tests/tui/golden/*.txt after normalising
# addresses, pids and source lines.
#
#   golden.sh TANGLE MKTRACE GOLDEN_DIR [--update] [CASE...]
#
# --update rewrites the golden files from what the screens show now; then
# look at each one (`cat tests/tui/golden/*.txt`) before committing it.
# Waits are polls for the expected screen (at most 10 s each), never sleeps
# that make the test pass by luck. Exit 77 (skipped) without tmux.
set -u

TANGLE=$1 MKTRACE=$2 GOLDEN=$3
shift 3
update=0
if [ "${1:-}" = "--update" ]; then
    update=1
    shift
fi
only=("$@")

command -v tmux >/dev/null || { echo "tmux not installed: skipped"; exit 77; }
command -v python3 >/dev/null || { echo "python3 not installed: skipped"; exit 77; }

tmp=$(mktemp -d /tmp/tangle-golden-XXXXXX)
sock="tangle-golden-$$"
tm() { tmux -L "$sock" -f /dev/null "$@"; }
cleanup() { tm kill-server 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

for s in abba semaphore prodcons race; do
    "$MKTRACE" "$s" "$tmp/$s.trace" || { echo "mktrace $s failed"; exit 1; }
done

normalise() {
    sed -E -e 's/0x[0-9a-f]{5,}/0xADDR/g' -e 's/pid [0-9]+/pid PID/g' -e 's/process [0-9]+/process PID/g' \
        -e 's/mktrace\.c:[0-9]+/mktrace.c:N/g' -e 's/[[:space:]]+$//'
}
capture() { tm capture-pane -p -t golden | normalise; }

failed=0
ran=0

# Waits until the screen is the golden one (or, updating, stops changing).
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

settle() {
    local want=$1 prev="" cur i=0 deadline=$(( $(now_ms) + 10000 ))
    while [ "$(now_ms)" -lt "$deadline" ]; do
        cur=$(capture)
        i=$((i + 1))
        if [ "$update" = 0 ] && [ -f "$want" ] && [ "$cur" = "$(cat "$want")" ]; then
            break
        fi
        if [ "$update" = 1 ] && [ -n "$cur" ] && [ "$cur" = "$prev" ] && [ "$i" -gt 3 ]; then
            break
        fi
        prev=$cur
        sleep 0.05
    done
    printf '%s\n' "$cur"
}

# case NAME COLSxROWS TRACE LOCALE KEYS... : one screen after the keys.
case_() {
    local name=$1 size=$2 trace=$3 locale=$4
    shift 4
    if [ ${#only[@]} -gt 0 ] && [[ ! " ${only[*]} " =~ " $name " ]]; then
        return
    fi
    ran=$((ran + 1))
    local cols=${size%x*} rows=${size#*x}
    tm new-session -d -s golden -x "$cols" -y "$rows" \
        "env LANG=$locale LC_ALL=$locale TERM=xterm-256color $TANGLE view $tmp/$trace.trace; sleep 600"
    # the first frame: the tabs are drawn
    local deadline=$(( $(now_ms) + 10000 ))
    while [ "$(now_ms)" -lt "$deadline" ]; do
        capture | grep -q "Timeline" && break
        sleep 0.05
    done
    [ $# -gt 0 ] && tm send-keys -t golden "$@"
    local want="$GOLDEN/$name.txt"
    local got
    got=$(settle "$want")
    printf '%s\n' "$got" >"$tmp/$name.got"
    if [ "$update" = 1 ]; then
        printf '%s\n' "$got" >"$want"
        echo "updated $want"
    elif [ ! -f "$want" ]; then
        echo "FAIL $name: no golden file $want (run with --update, then review it)"
        failed=$((failed + 1))
    elif ! diff -u "$want" "$tmp/$name.got" >"$tmp/$name.diff"; then
        echo "FAIL $name: the screen differs from $want:"
        cat "$tmp/$name.diff"
        failed=$((failed + 1))
    else
        echo "ok   $name"
    fi
    check_"${name%%-*}" "$tmp/$name.got" "$name" || failed=$((failed + 1))
    tm kill-session -t golden
}

# Extra checks that hold whatever the golden file says.
check_abba() { grep -q "mutexA" "$1" && grep -q "mutexB" "$1"; }
check_prodcons() { grep -q "q_mutex" "$1"; }
check_race() { grep -q "money" "$1"; }
check_help() { grep -q "zoom to fit" "$1"; }
check_ascii() { ! grep -q "[─━░┄▒·◆▼]" "$1" || { echo "FAIL $2: non-ASCII glyphs in the C locale"; false; }; }
# The semaphore has 5 units: no column may show more than 5 threads
# holding it (sleeping or running while holding: · or ━ on a thread lane),
# and the lock lane never says more than "5 held".
check_semaphore() {
    python3 - "$1" "$2" <<'EOF'
import re, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
lanes = [l.split("│", 1)[1] for l in lines if re.match(r"^.Thread-\d+ +T\d+│", l)]
worst = 0
for col in range(max((len(l) for l in lanes), default=0)):
    n = sum(1 for l in lanes if col < len(l) and l[col] in "·━")
    worst = max(worst, n)
held = [int(n) for n in re.findall(r"(\d+) held", "\n".join(lines))]
if worst > 5 or any(n > 5 for n in held):
    print(f"FAIL {sys.argv[2]}: {worst} holders in one column, lane says {held}")
    sys.exit(1)
EOF
}

# The cases: what a user sees, at 100x30 and at the smallest size, 80x24.
case_ abba-timeline         100x30 abba      C.UTF-8
case_ abba-findings         100x30 abba      C.UTF-8 3
case_ abba-finding-shown    100x30 abba      C.UTF-8 3 Enter
case_ abba-details          100x30 abba      C.UTF-8 j G Enter
case_ abba-locks            100x30 abba      C.UTF-8 2
case_ abba-80x24            80x24  abba      C.UTF-8
case_ help-80x24            80x24  abba      C.UTF-8 ?
case_ ascii-80x24           80x24  abba      C       3 Enter
case_ semaphore-timeline    100x30 semaphore C.UTF-8
case_ semaphore-lane        100x30 semaphore C.UTF-8 / s m Enter
case_ semaphore-zoomed      100x30 semaphore C.UTF-8 l l l l l l l l l l l l l + + +
case_ semaphore-stats       100x30 semaphore C.UTF-8 6
case_ prodcons-timeline     100x30 prodcons  C.UTF-8
case_ prodcons-locks        100x30 prodcons  C.UTF-8 2
case_ prodcons-details      100x30 prodcons  C.UTF-8 j j n n n n Enter
case_ race-findings         100x30 race      C.UTF-8 3
case_ race-timeline         100x30 race      C.UTF-8 3 Enter

if [ "$ran" = 0 ]; then
    echo "no such case: ${only[*]}"
    exit 1
fi
[ "$failed" = 0 ] || { echo "$failed screen(s) differ"; exit 1; }
