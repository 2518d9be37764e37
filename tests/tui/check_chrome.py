#!/usr/bin/env python3
"""tests/tui: `tangle export --chrome` writes Chrome trace-event JSON that
parses, names every thread, nests the slices of each thread, pairs every
flow arrow, and carries the locks, stacks and findings of the trace.

    check_chrome.py TANGLE MKTRACE
"""
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from decimal import Decimal

TANGLE, MKTRACE = sys.argv[1], sys.argv[2]
failures = []


def fail(case, msg):
    failures.append(f"{case}: {msg}")


def export(case, tmp):
    trace = f"{tmp}/{case}.trace"
    subprocess.run([MKTRACE, case, trace], check=True)
    out = subprocess.run([TANGLE, "export", "--chrome", trace], capture_output=True, check=False)
    if out.returncode != 0:
        fail(case, f"exit status {out.returncode}: {out.stderr.decode()}")
    # exact decimals: slices that touch must not overlap by a rounding error
    return json.loads(out.stdout, parse_float=Decimal)


def check_common(case, doc):
    evs = doc.get("traceEvents")
    if not isinstance(evs, list) or not evs:
        fail(case, "no traceEvents list")
        return []
    named = {(e["pid"], e["tid"]) for e in evs if e.get("ph") == "M" and e.get("name") == "thread_name"}
    slices = defaultdict(list)
    for e in evs:
        if e.get("ph") != "X":
            continue
        for k in ("name", "cat", "pid", "tid", "ts", "dur"):
            if k not in e:
                fail(case, f"slice without {k}: {e}")
                return evs
        if e["dur"] < 0:
            fail(case, f"negative duration: {e}")
        slices[(e["pid"], e["tid"])].append(e)
    for key, ss in slices.items():
        if key not in named:
            fail(case, f"thread {key} has slices but no thread_name")
        # nesting: each slice lies inside the one that encloses its start
        ss.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack = []
        for e in ss:
            start, end = e["ts"], e["ts"] + e["dur"]
            while stack and stack[-1][1] <= start:   # ended before (or as) this starts
                stack.pop()
            if stack and end > stack[-1][1]:
                fail(case, f"thread {key}: {e['name']} [{start}, {end}] overlaps "
                           f"{stack[-1][2]} [{stack[-1][0]}, {stack[-1][1]}] without nesting")
                break
            stack.append((start, end, e["name"]))
        if ss and ss[0]["cat"] != "thread":
            fail(case, f"thread {key}: the outermost slice is not the thread's life")
    # flows: each start has its finish, later, on another thread
    starts, finishes = {}, {}
    for e in evs:
        if e.get("ph") == "s":
            starts[e["id"]] = e
        elif e.get("ph") == "f":
            finishes[e["id"]] = e
    for fid, s in starts.items():
        f = finishes.get(fid)
        if f is None:
            fail(case, f"flow {fid} has no finish")
        elif f["ts"] < s["ts"] or f["tid"] == s["tid"]:
            fail(case, f"flow {fid} goes back in time or stays on its thread")
    if set(finishes) - set(starts):
        fail(case, "flow finishes without a start")
    return evs


def names(evs, cat):
    return [e["name"] for e in evs if e.get("cat") == cat]


with tempfile.TemporaryDirectory() as tmp:
    doc = export("abba", tmp)
    evs = check_common("abba", doc)
    holds, waits = names(evs, "hold"), names(evs, "wait")
    if "hold mutexA" not in holds or "hold mutexB" not in holds:
        fail("abba", f"holds of mutexA and mutexB expected, got {sorted(set(holds))}")
    if waits.count("wait mutexA") != 9 or waits.count("wait mutexB") != 1:
        fail("abba", f"9 waits for mutexA and 1 for mutexB expected, got {waits}")
    hold = next((e for e in evs if e.get("name") == "hold mutexB" and "stack" in e.get("args", {})), None)
    if hold is None or not any("func" in f for f in hold["args"]["stack"]):
        fail("abba", "the hold of mutexB has no symbolised stack in args")
    if hold is not None and hold["args"].get("object") != "mutexB":
        fail("abba", "the hold of mutexB does not name its lock in args")
    found = [e for e in evs if e.get("ph") == "i" and e.get("cat") == "finding"]
    if not any(e["args"].get("kind") == "deadlock" for e in found):
        fail("abba", f"no deadlock marker: {found}")
    if not any(e.get("ph") == "s" and e["name"] == "mutexA" for e in evs):
        fail("abba", "no arrow from Thread-1's unlock of mutexA to Thread-2's lock")

    evs = check_common("semaphore", export("semaphore", tmp))
    if names(evs, "hold").count("hold sm") != 23:
        fail("semaphore", f"23 holds of sm expected, got {names(evs, 'hold').count('hold sm')}")
    if names(evs, "wait").count("sem wait sm") != 18:
        fail("semaphore", "18 threads wait for a unit of sm")

    evs = check_common("prodcons", export("prodcons", tmp))
    if not any(n.startswith("cond wait q_not_empty") for n in names(evs, "wait")):
        fail("prodcons", "no condition waits")
    if sum(1 for e in evs if e.get("ph") == "s") < 10:
        fail("prodcons", "the queue's mutex passes between threads: arrows expected")
    if any(e.get("ph") == "i" for e in evs):
        fail("prodcons", "a clean program has no finding markers")

    evs = check_common("race", export("race", tmp))
    if not any(e.get("ph") == "i" and "money" in e["name"] for e in evs):
        fail("race", "no marker for the race on money")

    evs = check_common("order", export("order", tmp))
    t1 = [e for e in evs if e.get("ph") == "X" and e["cat"] == "hold" and e["tid"] == 4001]
    if [e["name"] for e in t1].count("hold mutexB") != 2:
        fail("order", "unlocking A under B must close B and reopen it: two slices of B expected")
    if not any(e["args"].get("note", "").startswith("continued") for e in t1):
        fail("order", "the reopened hold of B says it continues")
    t2 = [e for e in evs if e.get("ph") == "X" and e["cat"] == "hold" and e["tid"] == 4002]
    if len(t2) != 1 or t2[0]["dur"] != Decimal("2400.000"):
        fail("order", f"a recursive mutex is one hold until its last unlock, got {t2}")

for f in failures:
    print("FAIL", f)
print(f"{'ok' if not failures else 'FAILED'}: chrome export of 5 traces")
sys.exit(1 if failures else 0)
