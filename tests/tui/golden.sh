#!/usr/bin/env bash
# tests/tui/golden.sh: the real `tangle view` in a headless tmux, driven by
# keys, its screens compared with tests/tui/golden/*.txt after normalising
# addresses, pids and source lines.
#
#   golden.sh TANGLE MKTRACE GOLDEN_DIR [--update] [CASE...]
#
# With TANGLE_SAMPLES set to the built samples' folder, the real samples run
# under `tangle run` too and their views are checked (not compared: their
# timing varies). --update rewrites the golden files from what the screens show now; then
# look at each one (`cat tests/tui/golden/*.txt`) before committing it.
# Waits are polls for the expected screen (at most 30 s each: the machine may be busy), never sleeps
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
# One server for the whole run, kept alive by a session that outlives the
# cases: when a case killed the last session the server exited, and the next
# case's new-session could reach the dying server and fail ("no server
# running" for every poll after it, which is how CI once failed).
tm new-session -d -s keeper -x 80 -y 24 "sleep 3600" || { echo "tmux cannot start a server"; exit 1; }
tm set-option -g exit-empty off >/dev/null 2>&1
# Starts a case's session; a failure to start is one clear line, not 30 s
# of polls against nothing.
start_session() {
    local i
    for i in 1 2 3; do
        tm new-session -d "$@" && return 0
        sleep 0.2
    done
    echo "tmux new-session failed 3 times"
    return 1
}

for s in abba semaphore prodcons race; do
    "$MKTRACE" "$s" "$tmp/$s.trace" || { echo "mktrace $s failed"; exit 1; }
done

# The words of a finding (its summary and report) are the report
# renderer's, shared with `tangle report` and tested there: the Findings
# view keeps its layout here, and its text is replaced by <summary> and
# <report> so a change of wording does not change these screens.
normalise() {
    sed -E -e 's/0x[0-9a-f]{5,}/0xADDR/g' -e 's/pid [0-9]+/pid PID/g' -e 's/process [0-9]+/process PID/g' \
        -e 's/mktrace\.c:[0-9]+/mktrace.c:N/g' -e 's/[[:space:]]+$//' \
        -e 's/^([◆*] [a-z-]+ +[0-9.]+[a-zµ]+s  ).*/\1<summary>/' |
    awk '/report \(Enter: show on the timeline\)/ { print; print " <report>"; body = 1; next }
         body && /^[?]:help/ { body = 0 }
         body { next }
         { print }'
}
# each case gets its own session: a killed one may linger a moment
session=golden0
next_session() { session="golden$((${session#golden} + 1))"; }
raw() { tm capture-pane -p -t "$session" 2>/dev/null; }
capture() { raw | normalise; }

failed=0
ran=0
# Each failure's first line, repeated at the end: meson shows only the
# last 100 lines of a failing test's output.
summary=()
fail_echo() { echo "$1"; summary+=("$1"); }

# Waits until the screen is the golden one (or, updating, stops changing).
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

settle() {
    local want=$1 prev="" cur i=0 deadline=$(( $(now_ms) + 30000 ))
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

# Types KEYS into the case's session: tmux key names, and mouse events as
# click:X,Y dclick:X,Y wheelup:X,Y wheeldown:X,Y (1-based cell, as a
# terminal reports it), written into the pane as the SGR (1006) sequences a
# terminal sends when the program asked for mouse reports — what xterm and
# tmux itself send on a click.
send_keys() {
    local k keys=() b x y
    for k in "$@"; do
        case $k in
        click:*|dclick:*|wheelup:*|wheeldown:*) ;;
        *) keys+=("$k"); continue ;;
        esac
        [ ${#keys[@]} -gt 0 ] && tm send-keys -t "$session" "${keys[@]}"
        keys=()
        x=${k#*:} y=${x#*,} x=${x%,*}
        case $k in
        click:*) tm send-keys -t "$session" -l $'\e'"[<0;$x;${y}M"$'\e'"[<0;$x;${y}m" ;;
        dclick:*) tm send-keys -t "$session" -l $'\e'"[<0;$x;${y}M"$'\e'"[<0;$x;${y}m"$'\e'"[<0;$x;${y}M"$'\e'"[<0;$x;${y}m" ;;
        wheelup:*) tm send-keys -t "$session" -l $'\e'"[<64;$x;${y}M" ;;
        wheeldown:*) tm send-keys -t "$session" -l $'\e'"[<65;$x;${y}M" ;;
        esac
    done
    [ ${#keys[@]} -gt 0 ] && tm send-keys -t "$session" "${keys[@]}"
    return 0
}

# case NAME COLSxROWS TRACE LOCALE KEYS... : one screen after the keys
# (VIEW_ARGS: options for tangle view).
case_() {
    local name=$1 size=$2 trace=$3 locale=$4
    shift 4
    if [ ${#only[@]} -gt 0 ] && [[ ! " ${only[*]} " =~ " $name " ]]; then
        return
    fi
    ran=$((ran + 1))
    local cols=${size%x*} rows=${size#*x}
    next_session
    start_session -s "$session" -x "$cols" -y "$rows" \
        "env LANG=$locale LC_ALL=$locale TERM=xterm-256color $TANGLE view ${VIEW_ARGS:-} $tmp/$trace.trace \
         2>$tmp/$name.err; echo \$? >$tmp/$name.status; sleep 600"
    # the first frame: the tabs are drawn
    local deadline=$(( $(now_ms) + 30000 ))
    while [ "$(now_ms)" -lt "$deadline" ]; do
        capture | grep -q "Timeline" && break
        sleep 0.05
    done
    [ $# -gt 0 ] && send_keys "$@"
    local want="$GOLDEN/$name.txt"
    local got
    got=$(settle "$want")
    printf '%s\n' "$got" >"$tmp/$name.got"
    if [ "$update" = 1 ]; then
        printf '%s\n' "$got" >"$want"
        echo "updated $want"
    elif [ ! -f "$want" ]; then
        fail_echo "FAIL $name: no golden file $want (run with --update, then review it)"
        failed=$((failed + 1))
    elif ! diff -u "$want" "$tmp/$name.got" >"$tmp/$name.diff"; then
        fail_echo "FAIL $name: the screen differs from $want:"
        cat "$tmp/$name.diff"
        [ -f "$tmp/$name.status" ] && echo "tangle view ended with status $(cat "$tmp/$name.status")"
        [ -s "$tmp/$name.err" ] && cat "$tmp/$name.err"
        failed=$((failed + 1))
    else
        echo "ok   $name"
    fi
    # the checks read the screen as shown, report text included
    tm capture-pane -p -t "$session" >"$tmp/$name.raw"
    check_"${name%%-*}" "$tmp/$name.raw" "$name" || failed=$((failed + 1))
    tm kill-session -t "$session"
}

# Extra checks that hold whatever the golden file says.
says() { grep -q -- "$2" "$1" || { fail_echo "FAIL $3: the screen does not show \"$2\""; false; }; }
check_abba() { says "$1" mutexA "$2" && says "$1" mutexB "$2"; }
check_prodcons() { says "$1" q_mutex "$2"; }
# the race's report names money; shown on the timeline, both threads are marked
check_race() {
    case $2 in
    *-timeline) says "$1" "◆main" "$2" && says "$1" "◆Thread-1" "$2" ;;
    *) says "$1" money "$2" ;;
    esac
}
check_help() { says "$1" "zoom to fit" "$2"; }
# Mouse: the click selected Thread-3's lane and put the cursor at the
# clicked column; the wheel zoomed (the ruler's step changed); a click on a
# tab or a double click on a lane changed the view.
check_mouse() {
    case $2 in
    mouse-click) says "$1" "^▶Thread-3 " "$2" && says "$1" "^▼36ms " "$2" ;;
    mouse-wheel) says "$1" "500µs/col" "$2" ;;
    mouse-wheel-out) says "$1" "5ms/col" "$2" ;;
    mouse-tab) says "$1" "tangle: deadlock" "$2" ;;
    mouse-dclick) says "$1" "Thread-1  T1  tid" "$2" && says "$1" "SLEEP_BEGIN" "$2" ;;
    esac
}
# The Findings view of a trace read with --follow (findings shown as the
# detectors announce them) lists what `tangle report` tells for the same
# trace: each finding once, no lock-order inversion next to the deadlock it
# turned into.
check_follow() {
    local want got
    want=$("$TANGLE" report "$tmp/abba.trace" 2>&1 |
           sed -n -E 's/^tangle: (deadlock|lock-order inversion|data race|misuse).*/\1/p' |
           sed -e 's/lock-order inversion/lock-order/' -e 's/data race/race/' | sort)
    got=$(sed -n -E 's/^[◆*] ([a-z-]+) .*/\1/p' "$1" | sort)
    if [ -z "$want" ] || [ "$want" != "$got" ]; then
        fail_echo "FAIL $2: the view lists [$(echo $got)], tangle report tells [$(echo $want)]"
        return 1
    fi
}
check_ascii() { ! grep -q "[─━░┄▒·◆▼]" "$1" || { fail_echo "FAIL $2: non-ASCII glyphs in the C locale"; false; }; }
# The semaphore has 5 units: at no column boundary may more than 5 threads
# hold it, and the lock lane never says more than "5 held". A cell shows the
# state covering most of its slice (a tie: the more telling one), so a
# thread that gives a unit back in the middle of a column and the thread
# that takes it there can both show as holding in that one column (sleeping
# or running while holding: · or ━ on a thread lane). A worker of this
# sample holds once, so a thread shown holding in two adjacent columns holds
# across the boundary between them: those are counted.
check_semaphore() {
    python3 - "$1" "$2" <<'EOF'
import re, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
lanes = [l.split("│", 1)[1] for l in lines if re.match(r"^.Thread-\d+ +T\d+│", l)]
def holding(l, col):
    return col < len(l) and l[col] in "·━"
worst = 0
for col in range(max((len(l) for l in lanes), default=0)):
    n = sum(1 for l in lanes if holding(l, col) and holding(l, col + 1))
    worst = max(worst, n)
held = [int(n) for n in re.findall(r"(\d+) held", "\n".join(lines))]
if worst > 5 or any(n > 5 for n in held):
    print(f"FAIL {sys.argv[2]}: {worst} holders across one column boundary, lane says {held}")
    sys.exit(1)
EOF
}

# The cases: what a user sees, at 100x30 and at the smallest size, 80x24.
case_ abba-timeline         100x30 abba      C.UTF-8
case_ abba-findings         100x30 abba      C.UTF-8 3
case_ abba-finding-shown    100x30 abba      C.UTF-8 3 Enter C-l
case_ abba-details          100x30 abba      C.UTF-8 j G Enter
case_ abba-locks            100x30 abba      C.UTF-8 2
case_ abba-80x24            80x24  abba      C.UTF-8
case_ help-80x24            80x24  abba      C.UTF-8 ?
case_ ascii-80x24           80x24  abba      C       3 Enter C-l
case_ semaphore-timeline    100x30 semaphore C.UTF-8
case_ semaphore-lane        100x30 semaphore C.UTF-8 / s m Enter
case_ semaphore-zoomed      100x30 semaphore C.UTF-8 l l l l l l l l l l l l l + + +
case_ semaphore-stats       100x30 semaphore C.UTF-8 6
case_ prodcons-timeline     100x30 prodcons  C.UTF-8
case_ prodcons-locks        100x30 prodcons  C.UTF-8 2
case_ prodcons-details      100x30 prodcons  C.UTF-8 j j n n n n Enter
case_ race-findings         100x30 race      C.UTF-8 3
case_ race-timeline         100x30 race      C.UTF-8 3 Enter C-l
# the mouse: a click on a lane, the wheel over the lanes (zooming around the
# pointer), a click on a tab, a double click (Details)
case_ mouse-click           100x30 abba      C.UTF-8 click:40,6
case_ mouse-wheel           100x30 abba      C.UTF-8 wheelup:60,5 wheelup:60,5
case_ mouse-wheel-out       100x30 abba      C.UTF-8 wheelup:60,5 wheeldown:30,5 wheeldown:30,5
case_ mouse-tab             100x30 abba      C.UTF-8 click:24,1
case_ mouse-dclick          100x30 abba      C.UTF-8 dclick:50,4
# --follow: findings as the detectors announce them, the same list at the end
VIEW_ARGS=--follow case_ follow-abba-findings 100x30 abba C.UTF-8 3

# ---- bad input and ending: not screens, but what a user sees around them ----
extra() {
    local name=$1
    if [ ${#only[@]} -gt 0 ] && [[ ! " ${only[*]} " =~ " $name " ]]; then
        return 1
    fi
    ran=$((ran + 1))
    return 0
}

# A file that is not a trace: one line, status 1, and the terminal untouched.
if extra bad-input; then
    printf 'hello\n' >"$tmp/garbage.trace"
    out=$("$TANGLE" view "$tmp/garbage.trace" 2>&1 </dev/null)
    st=$?
    if [ "$st" != 1 ] || [ "$(printf '%s\n' "$out" | wc -l)" != 1 ] \
       || [[ "$out" != "tangle: $tmp/garbage.trace: cannot read trace: not a tangle trace"* ]]; then
        fail_echo "FAIL bad-input: status $st, output: $out"
        failed=$((failed + 1))
    else
        echo "ok   bad-input"
    fi
fi

# Runs `tangle view TRACE` in tmux with a shell after it that reports the
# exit status and the terminal's modes; ARGS after the trace are keys.
run_then_report() {
    local trace=$1
    shift
    next_session
    start_session -s "$session" -x 100 -y 30 \
        "env LANG=C.UTF-8 TERM=xterm-256color $TANGLE view $trace 2>$tmp/stderr; \
         echo status=\$?; stty -a | tr ' ' '\n' | grep -x -e icanon -e echo | tr '\n' ' '; echo; sleep 600"
    local deadline=$(( $(now_ms) + 30000 ))
    while [ "$(now_ms)" -lt "$deadline" ]; do
        raw | grep -q "Timeline" && break
        sleep 0.05
    done
}

wait_for() {
    local pattern=$1 deadline=$(( $(now_ms) + 30000 ))
    while [ "$(now_ms)" -lt "$deadline" ]; do
        raw | grep -q -- "$pattern" && return 0
        sleep 0.05
    done
    return 1
}

# A truncated trace shows what it has, says so, and exits 1 with one line.
if extra truncated; then
    head -c $(( $(stat -c %s "$tmp/abba.trace") * 2 / 3 )) "$tmp/abba.trace" >"$tmp/cut.trace"
    run_then_report "$tmp/cut.trace"
    if ! wait_for "truncated"; then
        fail_echo "FAIL truncated: no warning in the view:"
        raw
        failed=$((failed + 1))
    else
        tm send-keys -t "$session" q
        if wait_for "status=1" && wait_for "icanon echo" && grep -q "truncated" "$tmp/stderr" \
           && [ "$(tm display -p -t "$session" '#{alternate_on}')" = 0 ]; then
            echo "ok   truncated"
        else
            fail_echo "FAIL truncated: after q:"
            raw
            cat "$tmp/stderr"
            failed=$((failed + 1))
        fi
    fi
    tm kill-session -t "$session"
fi

# SIGTERM, SIGINT from outside and a crash give the terminal back (modes and
# the normal screen) and end the way the signal does.
for sig in TERM INT SEGV; do
    extra "signal-$sig" || continue
    run_then_report "$tmp/abba.trace"
    pane=$(tm display -p -t "$session" '#{pane_pid}')
    pid=$(pgrep -P "$pane" -x tangle)
    kill -s "$sig" "$pid"
    want=$((128 + $(kill -l "$sig")))
    if wait_for "status=$want" && wait_for "icanon echo" \
       && [ "$(tm display -p -t "$session" '#{alternate_on}')" = 0 ]; then
        echo "ok   signal-$sig"
    else
        fail_echo "FAIL signal-$sig: the terminal was not given back, or the status is not $want:"
        raw
        failed=$((failed + 1))
    fi
    tm kill-session -t "$session"
done

# A resize at any time: from 100x30 to 80x24 and back, the view redraws to fit.
if extra resize; then
    run_then_report "$tmp/abba.trace"
    tm resize-window -t "$session" -x 80 -y 24
    # 80 columns: compact tabs and the state still on the title line
    if wait_for " 1 Timeline 2 Locks .*killed by SIGKILL" && raw | grep -q "?:help q:quit"; then
        tm resize-window -t "$session" -x 120 -y 40
        if wait_for " 1 Timeline  2 Locks .*abba.trace  killed by SIGKILL" \
           && raw | grep -q "Thread-10"; then
            echo "ok   resize"
        else
            fail_echo "FAIL resize: after growing to 120x40:"
            raw
            failed=$((failed + 1))
        fi
    else
        fail_echo "FAIL resize: after shrinking to 80x24:"
        raw
        failed=$((failed + 1))
    fi
    tm kill-session -t "$session"
fi

# ---- the real samples under `tangle run`, then `tangle view` (when
# TANGLE_SAMPLES names the built samples): timing varies from run to run, so
# these check what must hold rather than whole screens ----
real() {
    local name=$1 sample=$2
    shift 2
    [ -n "${TANGLE_SAMPLES:-}" ] && [ -x "$TANGLE_SAMPLES/$sample" ] || return 1
    extra "real-$name" || return 1
    (cd "$tmp" && timeout 60 "$TANGLE" run -q -o "$tmp/real-$name.trace" "$@" -- \
        "$TANGLE_SAMPLES/$sample" ${REAL_ARGS:-} >/dev/null 2>"$tmp/real-$name.err")
    local st=$?
    if [ "$st" != "${REAL_STATUS:-0}" ]; then
        fail_echo "FAIL real-$name: tangle run exited $st, not ${REAL_STATUS:-0}:"
        cat "$tmp/real-$name.err"
        failed=$((failed + 1))
        return 1
    fi
    next_session
    start_session -s "$session" -x 100 -y 40 \
        "env LANG=C.UTF-8 TERM=xterm-256color $TANGLE view $tmp/real-$name.trace; sleep 600"
    wait_for "Timeline"
    return 0
}

real_fail() {
    fail_echo "FAIL $1: $2"
    raw
    failed=$((failed + 1))
}

# ABBA after its deadlock: both threads wait, the finding is on the lanes.
if REAL_ARGS=50ms REAL_STATUS=66 real abba abba_mythread; then
    if wait_for "Findings:1" && wait_for "░mutexA" && raw | grep -q "░mutexB" \
       && raw | grep -q "◆"; then
        tm send-keys -t "$session" 3
        if wait_for "tangle: deadlock" && wait_for "mutexA → mutexB\|mutexB → mutexA"; then
            echo "ok   real-abba"
        else
            real_fail real-abba "the Findings view does not show the deadlock"
        fi
    else
        real_fail real-abba "the timeline does not show the two threads waiting"
    fi
    tm kill-session -t "$session"
fi

# The semaphore pool: never more than 5 holders in a column.
if REAL_ARGS=60 real semaphore semaphore_pool; then
    tm send-keys -t "$session" / s m Enter
    if wait_for "held" && raw >"$tmp/real-sem.got" && check_semaphore "$tmp/real-sem.got" real-semaphore \
       && grep -q "Thread-23" "$tmp/real-sem.got"; then
        echo "ok   real-semaphore"
    else
        real_fail real-semaphore "more than 5 holders, or lanes missing"
    fi
    tm kill-session -t "$session"
fi

# Producer/consumer: the queue's mutex and the consumers' condition waits.
if REAL_ARGS=30 real prodcons producer_consumer; then
    if wait_for "q.mutex" && raw | grep -q "echo4" && raw | grep -q "┄"; then
        echo "ok   real-prodcons"
    else
        real_fail real-prodcons "no queue mutex, consumers or condition waits"
    fi
    tm kill-session -t "$session"
fi

# A race found by --watch: the finding and its variable. counter_race, one
# of the samples --watch must catch (issue 4): 100 threads decrement n, so
# the race is there on every run. (shared_money's single pair of accesses
# can slip past --watch while another thread's instruction is single-stepped
# with the page open: docs/races.md, limits.)
if REAL_STATUS=66 real race counter_race --watch n; then
    tm send-keys -t "$session" 3
    if wait_for "data race on n "; then
        tm send-keys -t "$session" Enter
        if wait_for "◆Thread-\|◆main"; then
            echo "ok   real-race"
        else
            real_fail real-race "Enter does not show the race's threads on the timeline"
        fi
    else
        real_fail real-race "no race on n in the Findings view"
    fi
    tm kill-session -t "$session"
fi

# `tangle run --live`: the timeline while it runs, the final state after,
# the output in its view, and everything printed once the view is closed.
# (400 ms units: the program runs about 2 s, long enough for the polls to
# see it live on a busy machine; at 100 ms it once ended before the first.)
if [ -n "${TANGLE_SAMPLES:-}" ] && [ -x "$TANGLE_SAMPLES/producer_consumer" ] && extra real-live; then
    next_session
    start_session -s "$session" -x 100 -y 30 \
        "cd $tmp && env LANG=C.UTF-8 TERM=xterm-256color $TANGLE run --live -q -o $tmp/live.trace \
         -- $TANGLE_SAMPLES/producer_consumer 400; echo status=\$?; sleep 600"
    if ! wait_for "live"; then
        real_fail real-live "the view did not start"
    elif ! wait_for "exit 0"; then
        real_fail real-live "no final state after the program ended"
    else
        tm send-keys -t "$session" 5
        if wait_for "henry produced a food" && raw | grep -q "ate food"; then
            tm send-keys -t "$session" q
            if wait_for "status=0" && raw | grep -q "^echo[1-4] ate food" \
               && [ "$(tm display -p -t "$session" '#{alternate_on}')" = 0 ]; then
                echo "ok   real-live"
            else
                real_fail real-live "after q: no output, status or terminal"
            fi
        else
            real_fail real-live "the Output view does not show what the program printed"
        fi
    fi
    tm kill-session -t "$session"
fi

# `tangle run --live` on ABBA: the lock-order inversion is announced while
# the threads run into it, then the deadlock; the view ends with what the
# report tells, the deadlock alone.
if [ -n "${TANGLE_SAMPLES:-}" ] && [ -x "$TANGLE_SAMPLES/abba_mythread" ] && extra real-live-abba; then
    next_session
    start_session -s "$session" -x 100 -y 30 \
        "cd $tmp && env LANG=C.UTF-8 TERM=xterm-256color $TANGLE run --live -q -o $tmp/live-abba.trace \
         -- $TANGLE_SAMPLES/abba_mythread 50ms 2>$tmp/live-abba.err; echo status=\$?; sleep 600"
    if ! wait_for "killed by SIGKILL"; then
        real_fail real-live-abba "no final state after the deadlock"
    elif ! raw | grep -q "Findings:1 "; then
        real_fail real-live-abba "not one finding"
    else
        tm send-keys -t "$session" 3
        if wait_for "tangle: deadlock" && ! raw | grep -q "lock-order"; then
            tm send-keys -t "$session" q
            if wait_for "status=66"; then
                echo "ok   real-live-abba"
            else
                real_fail real-live-abba "after q: not status 66"
            fi
        else
            real_fail real-live-abba "the Findings view does not show the deadlock alone"
        fi
    fi
    tm kill-session -t "$session"
fi

if [ "$ran" = 0 ]; then
    echo "no such case: ${only[*]}"
    exit 1
fi
[ "$failed" = 0 ] || { printf '%s\n' "${summary[@]}"; echo "$failed screen(s) differ"; exit 1; }
