#!/usr/bin/env python3
"""Integration tests of the `tangle` executable: run, dump, stats, errors.

Each meson test() runs one named check of this script:

    cli_tests.py --tangle T --samples DIR CHECK [ARGS...]

It prints one line per assertion ("ok ..." / "FAIL ...") and exits 0 when
all hold, 1 when one fails, 77 (meson's skip) with the reason when the
check needs something this build does not have. Programs are started by
tangle itself (the tracer is preloaded into them only); every run has a
time limit after which its whole process group is killed and the check
fails, so a hang is a failure, never a stuck suite.
"""
import argparse
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

SKIP = 77
ARGS = None
FAILED = []


def ok(cond, what, detail=""):
    if cond:
        print(f"ok   {what}")
    else:
        print(f"FAIL {what}" + (f"\n     {detail}" if detail else ""))
        FAILED.append(what)
    return cond


def skip(reason):
    print(f"skip: {reason}")
    sys.exit(SKIP)


def sample(name):
    return os.path.join(ARGS.samples, name)


class Run:
    def __init__(self, status, out, err, elapsed):
        self.status, self.out, self.err, self.elapsed = status, out, err, elapsed


def run(argv, timeout=60, env=None, stdin=subprocess.DEVNULL):
    """Runs argv in its own process group; kills the group at the limit."""
    start = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=stdin, env=env, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        ok(False, f"{' '.join(argv[:6])} ends within {timeout} s",
           err.decode(errors="replace")[-2000:])
        finish()
    return Run(p.returncode, out.decode(errors="replace"), err.decode(errors="replace"),
               time.monotonic() - start)


def tangle(*args, **kw):
    return run([ARGS.tangle, *args], **kw)


def findings_built():
    """The finding kinds this build's detectors report (tangle --version)."""
    r = tangle("--version")
    m = re.search(r"^findings:(.*)$", r.out, re.M)
    return set(m.group(1).split()) if m else set()


def one_error_line(r, what, must_contain=""):
    lines = [l for l in r.err.splitlines() if l.strip()]
    ok(len(lines) == 1 and lines[0].startswith("tangle: ") and must_contain in lines[0],
       f"{what}: one error line starting 'tangle: '" +
       (f" naming {must_contain}" if must_contain else ""), repr(r.err[-500:]))


def finish():
    print(f"{'FAILED' if FAILED else 'passed'}: {len(FAILED)} failure(s)")
    sys.exit(1 if FAILED else 0)


# ---- trace contents, through `tangle dump` ----

# TIME PID/TID THREAD EVENT OBJECT... (event names: events.def)
EVENT = re.compile(r"^\s*(\d+\.\d+)\s+(\d+)/(\d+)\s+(.*?)\s+([A-Z]+_[A-Z_]+|DETACH|FORK|LOST|RACE)(?:\s+(.*))?$")


def dump(trace, *opts, allow_empty=False):
    """`tangle dump` as a list of (time, pid, tid, thread, event, rest)."""
    r = tangle("dump", *opts, trace)
    ok(r.status == 0, f"tangle dump {os.path.basename(trace)} exits 0", r.err[-500:])
    rows = []
    for line in r.out.splitlines():
        m = EVENT.match(line)
        if m:
            rows.append((float(m.group(1)), int(m.group(2)), int(m.group(3)),
                         m.group(4), m.group(5), (m.group(6) or "").split()))
    ok((allow_empty or len(rows) > 0) and len(rows) == len(r.out.splitlines()),
       f"every dump line parses ({len(rows)} events)")
    return rows


def wait_for_events(trace, kind, timeout=10):
    """Polls the trace a running program writes until an event of KIND shows."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = tangle("dump", "--kind", kind, trace, timeout=30)
        if r.status == 0 and r.out.strip():
            return [EVENT.match(l) for l in r.out.splitlines() if EVENT.match(l)]
        time.sleep(0.05)
    return []


def spawn_run(trace, *program):
    return subprocess.Popen([ARGS.tangle, "run", "-o", trace, "--", *program],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def reap(p, timeout=30):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        ok(False, f"tangle run ends within {timeout} s", err.decode(errors="replace")[-1000:])
    return Run(p.returncode, out.decode(errors="replace"), err.decode(errors="replace"), 0)


# ---- checks ----

def check_sample(tmp, name, verdict, *args):
    """A sample under `tangle run`: the exit status and the one finding kind its
    verdict implies, and the same from `tangle report` on its trace."""
    built = findings_built()
    args = [a for a in args if a != "-"]
    if verdict in ("deadlock", "lock-order") and verdict not in built:
        skip(f"{name} ({verdict}): this build's detectors do not report {verdict} findings "
             f"(tangle --version: findings: {' '.join(sorted(built)) or 'none'})")
    if verdict == "misuse" and "misuse" not in built:
        skip(f"{name} (misuse): no misuse detector in this build")
    trace = os.path.join(tmp, name + ".trace")
    live_json, offline_json = os.path.join(tmp, "run.json"), os.path.join(tmp, "report.json")
    r = tangle("run", "-o", trace, "--json", live_json, "--", sample(name), *args, timeout=60)
    # a race needs `tangle cc` or --watch: a plain run reports no other finding
    expected = {"clean": 0, "race": 0, "lock-order": 66, "deadlock": 66, "misuse": 66}[verdict]
    ok(r.status == expected, f"{name} ({verdict}) exits {expected}",
       f"status {r.status}; stderr:\n{r.err[-3000:]}")
    # exactly the verdict: its kind only (any other finding is a false alarm)
    want = [] if verdict in ("clean", "race") else [verdict]
    with open(live_json) as f:
        kinds = sorted({x["kind"] for x in json.load(f)["findings"]})
    ok(kinds == want, f"{name}: tangle run finds {want or 'nothing'}", f"found {kinds}")
    rep = tangle("report", "-q", "--json", offline_json, trace, timeout=60)
    ok(rep.status == expected, f"{name}: tangle report on its trace exits {expected}",
       f"status {rep.status}; stderr:\n{rep.err[-2000:]}")
    with open(live_json, "rb") as a, open(offline_json, "rb") as b:
        ok(a.read() == b.read(), f"{name}: tangle report --json equals tangle run's, byte for byte")
    if verdict == "deadlock":
        # the run's time limit catches a hang; how fast is for bench/, not a test
        print(f"note {name}: ended by the deadlock detector after {r.elapsed:.1f} s")
    ok(re.search(r"^tangle: (\S+ exited with status|\S+ was killed|ended \S+ with)", r.err, re.M) is not None,
       f"{name}: summary paragraph on stderr", r.err[-1000:])
    ok(trace in r.err.replace("\n       ", " "), f"{name}: summary names the trace")
    rows = dump(trace)
    ok(any(e[4] == "THREAD_START" for e in rows), f"{name}: trace has thread starts")


def check_usage(tmp):
    r = tangle("--help")
    ok(r.status == 0 and "run" in r.out and "dump" in r.out, "tangle --help lists commands")
    r = tangle("--version")
    ok(r.status == 0 and r.out.startswith("tangle "), "tangle --version")
    r = tangle()
    ok(r.status == 2, "tangle without a command exits 2")
    for argv, cmd in ((["frobnicate"], ""), (["--frob"], ""), (["run", "--frob", "--", "true"], " run"),
                      (["run"], " run"), (["dump"], " dump"), (["stats", "a", "b"], " stats"),
                      (["run", "--exitcode", "300", "--", "true"], " run"),
                      (["run", "--fail-on", "bogus", "--", "true"], " run"),
                      (["run", "--on-deadlock", "maybe", "--", "true"], " run"),
                      (["stats", "--sort", "bogus", "x"], " stats"),
                      (["dump", "--kind", "NOPE_*", "x"], " dump")):
        r = tangle(*argv)
        lines = r.err.splitlines()
        ok(r.status == 2 and len(lines) == 2 and lines[1] == f"try 'tangle{cmd} --help'",
           f"usage error for {' '.join(argv)}: exit 2, one line + hint", repr(r.err))
    for cmd in ("run", "dump", "stats"):
        r = tangle(cmd, "--help")
        ok(r.status == 0 and r.out.startswith(f"usage: tangle {cmd}"), f"tangle {cmd} --help")
        r2 = tangle("help", cmd)
        ok(r2.status == 0 and r2.out == r.out, f"tangle help {cmd}")


def check_exec_errors(tmp):
    trace = os.path.join(tmp, "x.trace")
    r = tangle("run", "-o", trace, "--", os.path.join(tmp, "no-such-program"))
    ok(r.status == 127, "missing program: 127", r.err)
    one_error_line(r, "missing program", "no-such-program")
    ok(not os.path.exists(trace), "missing program: no trace file left behind")
    r = tangle("run", "-o", trace, "--", "tangle-no-such-command-on-path")
    ok(r.status == 127, "command not on PATH: 127", r.err)
    plain = os.path.join(tmp, "not-executable")
    with open(plain, "w") as f:
        f.write("#!/bin/sh\necho hi\n")
    os.chmod(plain, 0o644)
    r = tangle("run", "-o", trace, "--", plain)
    ok(r.status == 126, "non-executable program: 126", r.err)
    one_error_line(r, "non-executable program", "not-executable")
    r = tangle("run", "-o", trace, "--", tmp)
    ok(r.status == 126, "a directory: 126", r.err)


def check_crash(tmp):
    trace = os.path.join(tmp, "crash.trace")
    r = tangle("run", "-o", trace, "--", "/bin/sh", "-c", "kill -SEGV $$")
    ok(r.status == 128 + signal.SIGSEGV, f"crashing program: {128 + signal.SIGSEGV}", r.err)
    ok("killed by signal SIGSEGV" in r.err.replace("\n       ", " "),
       "summary says killed by signal SIGSEGV", r.err)
    r = tangle("dump", trace)
    ok(r.status == 0, "the crashed program's trace is readable", r.err)


def check_exit_status(tmp):
    trace = os.path.join(tmp, "st.trace")
    for code in (0, 1, 3, 42):
        r = tangle("run", "-q", "-o", trace, "--", "/bin/sh", "-c", f"exit {code}")
        ok(r.status == code, f"exit status {code} passed through", r.err)
    r = tangle("run", "-q", "-o", trace, "--exitcode", "9", "--", "/bin/sh", "-c", "exit 0")
    ok(r.status == 0, "--exitcode does not change a run without findings", r.err)


def check_stdout(tmp):
    trace = os.path.join(tmp, "out.trace")
    for argv in ([sample("add_sub_lock"), "10000"], [sample("ticket_lock_joined")],
                 ["/bin/sh", "-c", "printf 'one\\ntwo\\n'; printf 'err\\n' >&2"]):
        native = run(argv)
        traced = tangle("run", "-o", trace, "--", *argv)
        ok(native.status == 0 and traced.status == 0, f"{os.path.basename(argv[0])}: both exit 0",
           traced.err)
        ok(native.out == traced.out and native.out,
           f"{os.path.basename(argv[0])}: stdout identical with and without tangle",
           f"native {native.out[:200]!r} traced {traced.out[:200]!r}")
        ok(traced.err.startswith(native.err), f"{os.path.basename(argv[0])}: "
           "program's stderr comes first, unchanged", traced.err[:300])


def check_live_without_terminal(tmp):
    """--live when the view cannot start (no terminal): PROGRAM's stdout and
    stderr still arrive where they would without it, apart."""
    trace = os.path.join(tmp, "live.trace")
    r = tangle("run", "--live", "-o", trace, "--", "/bin/sh", "-c", "echo out; echo err >&2")
    ok(r.status == 0, "--live without a terminal still runs PROGRAM", r.err)
    ok(r.out == "out\n", "PROGRAM's stdout on tangle's stdout", repr(r.out))
    lines = r.err.splitlines()
    ok("err" in lines and "out" not in lines, "PROGRAM's stderr on tangle's stderr", repr(r.err))


def check_unwritable_output(tmp):
    marker = os.path.join(tmp, "started")
    r = tangle("run", "-o", os.path.join(tmp, "no-such-dir", "x.trace"), "--",
               "/bin/sh", "-c", f"touch {marker}")
    ok(r.status == 125, "unwritable -o: 125", r.err)
    one_error_line(r, "unwritable -o", "no-such-dir")
    ok(not os.path.exists(marker), "unwritable -o: the program was not started")
    # paths that open but cannot hold a mapped trace: refused before PROGRAM runs
    for path, why in (("/dev/null", "not a regular file"), ("/proc/version", "cannot")):
        r = tangle("run", "-o", path, "--", "/bin/sh", "-c", f"touch {marker}")
        ok(r.status == 125, f"-o {path}: 125", r.err)
        one_error_line(r, f"-o {path}", why)
        ok(not os.path.exists(marker), f"-o {path}: the program was not started")


def check_default_trace_name(tmp):
    r = run([ARGS.tangle, "run", "--", "/bin/true"], timeout=60)
    ok(r.status == 0, "run without -o", r.err)
    m = re.search(r"Trace: (\S+)", r.err.replace("\n       ", " "))
    path = m.group(1) if m else ""
    ok(re.search(r"/tangle-true-\d+\.trace$", path) is not None, "default name tangle-PROG-PID.trace", path)
    ok(os.path.isfile(path), "default trace exists")
    if os.path.isfile(path):
        os.unlink(path)


def check_static_program(tmp):
    """A program that cannot load the tracer: 125 and a line saying so."""
    src = os.path.join(tmp, "static.c")
    exe = os.path.join(tmp, "static")
    with open(src, "w") as f:
        f.write("int main(void) { return 3; }\n")
    if run([os.environ.get("CC", "cc"), "-static", src, "-o", exe]).status != 0:
        skip("this machine cannot link a static program (no libc.a)")
    trace = os.path.join(tmp, "static.trace")
    r = tangle("run", "-o", trace, "--", exe)
    ok(r.status == 125, "statically linked program: 125", r.err)
    ok("No trace was written" in r.err.replace("\n       ", " ") and "statically linked" in r.err,
       "the summary says no trace was written and why", r.err)
    ok(not os.path.exists(trace), "no empty trace file left behind")


def check_survivor(tmp):
    """PROGRAM leaves a busy process behind: tangle ends with PROGRAM."""
    trace = os.path.join(tmp, "survivor.trace")
    script = "(while :; do sleep 0.01; done) >/dev/null 2>&1 </dev/null & echo $!; exit 5"
    r = tangle("run", "-o", trace, "--", "/bin/sh", "-c", script, timeout=30)
    try:
        ok(r.status == 5, "PROGRAM's status although a child it forked runs on", r.err)
        print(f"note tangle ended {r.elapsed:.1f} s after it started (limit 30 s)")
        ok(re.search(r"process(es)? it started (was|were) still running",
                     r.err.replace("\n       ", " ")) is not None,
           "the summary mentions the process left running", r.err)
    finally:
        if r.out.strip().isdigit():
            os.kill(int(r.out.strip()), signal.SIGKILL)


def check_sigkill(tmp):
    """A program killed with SIGKILL leaves a trace readable up to its death."""
    trace = os.path.join(tmp, "killed.trace")
    p = spawn_run(trace, sample("semaphore_pool"), "1000")
    acq = wait_for_events(trace, "SEM_ACQ")
    ok(len(acq) > 0, "semaphore_pool under tangle: holders show in the live trace")
    if acq:
        os.kill(int(acq[0].group(2)), signal.SIGKILL)
    r = reap(p)
    ok(r.status == 128 + signal.SIGKILL, f"tangle exits {128 + signal.SIGKILL} after SIGKILL",
       r.err)
    ok("killed by signal SIGKILL" in r.err.replace("\n       ", " "), "summary says SIGKILL", r.err)
    rows = dump(trace)
    ok(sum(1 for e in rows if e[4] == "SEM_ACQ") >= len(acq), "events before the kill are kept")
    s = tangle("stats", trace)
    ok(s.status == 0, "stats reads the killed program's trace", s.err)


def no_core():
    import resource
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def check_on_deadlock(tmp):
    """--on-deadlock: kill (default) and abort end the deadlocked program and
    exit with the findings status; wait leaves it hanging until someone ends
    it, then tangle exits the same way."""
    if "deadlock" not in findings_built():
        skip("this build's detectors do not report deadlocks")
    for how, sig in (("kill", "SIGKILL"), ("abort", "SIGABRT")):
        trace, js = os.path.join(tmp, f"{how}.trace"), os.path.join(tmp, f"{how}.json")
        opt = [] if how == "kill" else [f"--on-deadlock={how}"]
        p = subprocess.Popen([ARGS.tangle, "run", "-o", trace, "--json", js, *opt, "--",
                              sample("relock_self")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=no_core)
        r = reap(p)
        ok(r.status == 66, f"--on-deadlock={how}: tangle exits 66 ({r.status})", r.err[-1500:])
        ok(f"ended relock_self with {sig}" in r.err.replace("\n       ", " "),
           f"--on-deadlock={how}: the summary says tangle ended it with {sig}", r.err[-800:])
        with open(js) as f:
            st = json.load(f)["exit_status"]
        want = 128 + getattr(signal, sig)
        ok(st == want, f"--on-deadlock={how}: JSON exit_status {want} ({st})")

    # wait: the program stays, blocked, until we end it
    trace = os.path.join(tmp, "wait.trace")
    p = subprocess.Popen([ARGS.tangle, "run", "-o", trace, "--on-deadlock=wait", "--",
                          sample("relock_self")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    deadline, err, pid = time.monotonic() + 30, b"", None
    os.set_blocking(p.stderr.fileno(), False)
    while pid is None and time.monotonic() < deadline and p.poll() is None:
        chunk = p.stderr.read() or b""
        err += chunk
        m = re.search(rb"leaving \S+ \(pid (\d+)\) hanging", err)
        if m:
            pid = int(m.group(1))
        else:
            time.sleep(0.05)
    ok(pid is not None, "--on-deadlock=wait: tangle says which pid it leaves hanging",
       err.decode(errors="replace")[-1500:])
    if pid is None:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        return
    time.sleep(1.0)
    ok(p.poll() is None, "--on-deadlock=wait: tangle waits with it")
    try:
        os.kill(pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    ok(alive, f"--on-deadlock=wait: the program (pid {pid}) is still there a second later")
    if alive:
        os.kill(pid, signal.SIGKILL)
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    os.set_blocking(p.stderr.fileno(), True)
    err += p.stderr.read() or b""
    ok(p.returncode == 66, f"--on-deadlock=wait: once it is ended, tangle exits 66 ({p.returncode})",
       err.decode(errors="replace")[-800:])


def check_forward(tmp):
    """A signal sent to tangle (not by the terminal) reaches PROGRAM once;
    a tangle killed outright takes PROGRAM with it."""
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
        trace = os.path.join(tmp, f"fwd{int(sig)}.trace")
        p = spawn_run(trace, sample("semaphore_pool"), "1000")
        ok(len(wait_for_events(trace, "SEM_ACQ")) > 0, "program is running")
        os.kill(p.pid, sig)
        r = reap(p)
        ok(r.status == 128 + sig, f"{sig.name} to tangle ends PROGRAM: {128 + sig}", r.err)
        ok(f"killed by signal {sig.name}" in r.err.replace("\n       ", " "),
           f"summary says {sig.name}", r.err)
    trace = os.path.join(tmp, "fwd-kill.trace")
    p = spawn_run(trace, sample("semaphore_pool"), "5000")    # runs 25 s on its own
    acq = wait_for_events(trace, "SEM_ACQ")
    ok(len(acq) > 0, "program is running")
    os.kill(p.pid, signal.SIGKILL)
    p.wait()                            # not its pipes: PROGRAM holds them too
    if acq:
        pid, gone = int(acq[0].group(2)), False
        for _ in range(100):            # dead: gone, or a zombie until init reaps it
            try:
                with open(f"/proc/{pid}/status") as f:
                    gone = re.search(r"^State:\s+Z", f.read(), re.M) is not None
            except FileNotFoundError:
                gone = True
            if gone:
                break
            time.sleep(0.02)
        ok(gone, "PROGRAM dies with a tangle killed by SIGKILL")
        if not gone:
            os.kill(pid, signal.SIGKILL)
    p.communicate()


def check_terminal_interrupt(tmp):
    """Ctrl-C in a terminal: the kernel sends SIGINT to the foreground group
    (tangle and PROGRAM); PROGRAM dies of it, tangle stays to report."""
    import pty
    trace = os.path.join(tmp, "tty.trace")
    pid, master = pty.fork()
    if pid == 0:
        os.execv(ARGS.tangle, [ARGS.tangle, "run", "-o", trace, "--",
                               sample("semaphore_pool"), "1000"])
    out = b""
    ok(len(wait_for_events(trace, "SEM_ACQ")) > 0, "program is running on the terminal")
    os.write(master, b"\x03")
    deadline = time.monotonic() + 20
    status = None
    while time.monotonic() < deadline:
        try:
            chunk = os.read(master, 4096)
            out += chunk
        except OSError:                 # EIO: every process on the terminal is gone
            pass
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = os.waitstatus_to_exitcode(st)
            break
        time.sleep(0.01)
    if status is None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    try:
        while True:
            chunk = os.read(master, 4096)
            if not chunk:
                break
            out += chunk
    except OSError:
        pass
    os.close(master)
    text = out.decode(errors="replace").replace("\r\n", "\n").replace("\n       ", " ")
    ok(status == 128 + signal.SIGINT, f"Ctrl-C: tangle exits {128 + signal.SIGINT} ({status})", text[-800:])
    ok("killed by signal SIGINT" in text, "the summary says SIGINT", text[-800:])


def check_abba_trace(tmp):
    """abba_mythread: both mutexes requested by at least two threads."""
    trace = os.path.join(tmp, "abba.trace")
    p = spawn_run(trace, sample("abba_mythread"), "100ms")
    # The detector ends it on its own once it exists; otherwise it hangs by
    # design, and a SIGTERM to tangle (forwarded) ends it.
    deadline = time.monotonic() + 3
    while p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if p.poll() is None:
        os.kill(p.pid, signal.SIGTERM)
    r = reap(p)
    ok(r.status in (66, 128 + signal.SIGTERM), "abba_mythread ends (deadlock found or SIGTERM)",
       f"status {r.status}\n{r.err[-2000:]}")
    rows = dump(trace, "--kind", "MUTEX_REQ,MUTEX_ACQ")
    for lock in ("mutexA", "mutexB"):
        tids = {e[2] for e in rows if e[5] and e[5][0] == lock}
        ok(len(tids) >= 2, f"{lock} requested by at least two threads ({len(tids)})")


def check_semaphore_trace(tmp):
    """semaphore_pool: never more than 5 holders."""
    trace = os.path.join(tmp, "sem.trace")
    r = tangle("run", "-o", trace, "--", sample("semaphore_pool"), "20", timeout=60)
    ok(r.status == 0, "semaphore_pool exits 0", r.err[-1000:])
    rows = dump(trace, "--kind", "SEM_*")
    holders = most = acquired = 0
    for e in rows:
        if e[5] and e[5][0] != "sm":
            continue
        if e[4] == "SEM_ACQ" or (e[4] == "SEM_TRY" and "OK" in e[5]):
            holders += 1
            acquired += 1
        elif e[4] == "SEM_POST":
            holders -= 1
        most = max(most, holders)
    ok(acquired == 23, f"23 threads acquired sm ({acquired})")
    ok(1 <= most <= 5, f"never more than 5 holders of sm (most: {most})")
    # stats: sm is a row of the lock table; its contended waits are the
    # SEM_REQs dump shows; a semaphore has no hold time nor owner
    s = tangle("stats", trace)
    ok(s.status == 0, "stats on the semaphore trace exits 0", s.err)
    m = re.search(r"^\s+sm\s+sem\s+([\d,]+)\s+([\d,]+)\s+(\S+(?: \S+)?)\s+\S+(?: \S+)?\s+-\s+-$",
                  s.out, re.M)
    ok(m is not None, "stats lists sm as a sem, MAX HOLD and CHANGES '-'", s.out[:1500])
    if m:
        reqs = sum(1 for e in rows if e[4] == "SEM_REQ" and e[5][:1] == ["sm"])
        ok(int(m.group(1).replace(",", "")) == 23, f"stats: sm acquired 23 times ({m.group(1)})")
        ok(int(m.group(2).replace(",", "")) == reqs,
           f"stats: sm contended ({m.group(2)}) = its SEM_REQ events ({reqs})")
        ok(reqs == 0 or m.group(3) != "0", f"stats: sm's waits add up ({m.group(3)})")
    waiting = dict(re.findall(r"^\s+T\d+\s+\S+\s+(\d+)\s+(?:0|\S+ [mun]?s)\s+(0|\S+ [mun]?s)\s",
                              s.out, re.M))
    waiters = {str(e[2]) for e in rows if e[4] == "SEM_REQ" and e[5][:1] == ["sm"]}
    ok(waiters and all(waiting.get(tid, "0") != "0" for tid in waiters),
       f"the {len(waiters)} threads that waited for sm have waiting time", s.out[-1500:])


def lock_names(stats_out):
    """The LOCK column of `tangle stats`' lock table."""
    return re.findall(r"^  (.+?)\s+(?:mutex|rwlock|spinlock|sem)\s+[\d,]+\s", stats_out, re.M)


def check_process_trace(tmp):
    """process_ticket: events from every forked process."""
    trace = os.path.join(tmp, "proc.trace")
    r = tangle("run", "-o", trace, "--", sample("process_ticket"), timeout=60)
    ok(r.status == 0, "process_ticket exits 0", r.err[-1000:])
    rows = dump(trace)
    pids = {e[1] for e in rows}
    children = {int(e[5][2]) for e in rows if e[4] == "FORK" and len(e[5]) >= 3}
    ok(len(children) == 10, f"10 forked buyers ({len(children)})")
    ok(children <= pids, "every forked process has events in the trace",
       f"missing: {sorted(children - pids)}")
    ok(len(pids) == len(children) + 1, f"{len(pids)} processes in the trace")
    ok("11 processes" in r.err.replace("\n       ", " "), "summary counts 11 processes", r.err)
    # stats: the children's rows of one lock tell their processes apart
    s = tangle("stats", trace)
    ok(s.status == 0, "stats on the forking program's trace exits 0", s.err)
    names = lock_names(s.out)
    ok(len(names) >= 10 and len(set(names)) == len(names),
       f"stats: {len(names)} lock rows, no name repeated", s.out[:3000])
    tagged = [int(m) for n in names for m in re.findall(r" \[pid (\d+)\]$", n)]
    ok(tagged and set(tagged) <= pids, f"stats: repeated names carry their pid ({len(tagged)})",
       str(names))
    inits = [e for e in rows if e[4] == "MUTEX_INIT"]
    ok(inits and all(e[5][1:2] == ["pshared"] for e in inits),
       "dump marks the process-shared mutex pshared", str(inits[:2]))


def check_dump_options(tmp):
    trace = os.path.join(tmp, "gil.trace")
    r = tangle("run", "-o", trace, "--", sample("gil_contention"), "200", "2000", timeout=60)
    ok(r.status == 0, "gil_contention exits 0", r.err[-1000:])
    rows = dump(trace, "--kind", "mutex_*")
    ok(rows and all(e[4].startswith("MUTEX_") for e in rows), "--kind mutex_* keeps mutex events")
    ok(any(e[5] and e[5][0] == "gil" for e in rows), "the lock is named gil")
    flags = {"recursive", "errorcheck", "adaptive", "pshared", "timed"}
    ok(not any(flags & set(e[5]) for e in rows), "a default mutex shows no attributes")
    rtrace = os.path.join(tmp, "rlock.trace")
    rr = tangle("run", "-q", "-o", rtrace, "--", sample("noodle_fork_rlock"), "10", timeout=60)
    ok(rr.status == 0, "noodle_fork_rlock exits 0", rr.err[-1000:])
    rlock = [e for e in dump(rtrace, "--kind", "mutex_*") if e[5] and e[5][0] == "rlock"]
    ok(rlock and all(e[5][1:2] == ["recursive"] for e in rlock),
       "dump shows rlock's events as recursive", str(rlock[:2]))
    tid = rows[-1][2] if rows else 0
    only = dump(trace, "--thread", str(tid))
    ok(only and all(e[2] == tid for e in only), "--thread TID keeps that thread's events")
    r = tangle("dump", "--stacks", "--kind", "MUTEX_ACQ", trace)
    ok(r.status == 0 and re.search(r"#0 +\S+ \S+\.c:\d+", r.out) is not None,
       "--stacks prints symbolised frames", r.out[:500])
    ok(re.search(r"MUTEX_ACQ\s+gil\s+.*\S+ gil_contention\.c:\d+$", r.out, re.M) is not None,
       "caller column: function file:line", r.out[:500])

    check_early_detach(tmp)


EARLY_DETACH = r"""
#include <pthread.h>
static void *idle(void *a) { return a; }
int main(void)
{
    pthread_t a, b;
    pthread_create(&a, NULL, idle, NULL);
    pthread_detach(a);
    pthread_create(&b, NULL, idle, NULL);
    pthread_join(b, NULL);
    return 0;
}
"""


def check_early_detach(tmp):
    """A detach or join of a thread that has not started yet names it T<n>,
    as its THREAD_CREATE does. Whether the new thread runs first is up to the
    scheduler (one CPU makes it rare): a few runs, the early ones checked."""
    src, exe = os.path.join(tmp, "early.c"), os.path.join(tmp, "early")
    with open(src, "w") as f:
        f.write(EARLY_DETACH)
    if run([os.environ.get("CC", "cc"), "-pthread", src, "-o", exe]).status != 0:
        print("skip: no C compiler for the early-detach program")
        return
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    early = 0
    for i in range(8):
        trace = os.path.join(tmp, f"early{i}.trace")
        r = run([*pin, ARGS.tangle, "run", "-q", "-o", trace, "--", exe])
        ok(r.status == 0, "early-detach program exits 0", r.err[-500:])
        rows = dump(trace, "--kind", "THREAD_*,DETACH,JOIN_*")
        ok(not any(e[4] in ("DETACH", "JOIN_REQ", "JOIN_DONE") and e[5][:1] == ["?"] for e in rows),
           "no join or detach names its thread '?'", str(rows))
        events = [e[4] for e in rows]
        if "DETACH" in events and ("THREAD_START" not in events[2:] or
                                   events.index("DETACH") < events.index("THREAD_START", 2)):
            early += 1
            detach = rows[events.index("DETACH")]
            ok(detach[5][:1] == ["T1"], "a detach before the thread starts names it T1", str(detach))
    print(f"note: {early} of 8 runs detached before the thread started")


def check_stats(tmp):
    trace = os.path.join(tmp, "gil.trace")
    r = tangle("run", "-o", trace, "--", sample("gil_contention"), "200", "2000", timeout=60)
    ok(r.status == 0, "gil_contention exits 0", r.err[-1000:])
    s = tangle("stats", trace)
    ok(s.status == 0, "tangle stats exits 0", s.err)
    m = re.search(r"^\s+gil\s+mutex\s+([\d,]+)\s+([\d,]+)", s.out, re.M)
    ok(m is not None, "the lock table has gil", s.out[:1500])
    if m:
        acquired = int(m.group(1).replace(",", ""))
        contended = int(m.group(2).replace(",", ""))
        ok(acquired == 4 * 200, f"gil acquired 4 x 200 times ({acquired})")
        # whether threads collided is up to the scheduler; that stats and
        # dump agree on it is not
        reqs = sum(1 for e in dump(trace, "--kind", "MUTEX_REQ", allow_empty=True) if e[5] and e[5][0] == "gil")
        ok(contended == reqs, f"contended acquisitions ({contended}) = MUTEX_REQ events ({reqs})")
    ok(re.search(r"^Threads: 5$", s.out, re.M) is not None, "five threads in the thread table", s.out)
    names = lock_names(s.out)
    ok("gil" in names and not any("[pid" in n for n in names), "one process: lock names as they are",
       s.out[:1500])
    for key in ("contended", "wait", "max-wait", "hold", "acquired", "changes", "name"):
        r = tangle("stats", "--sort", key, trace)
        ok(r.status == 0 and f"by {key}" in r.out, f"stats --sort={key}")


def check_bad_traces(tmp):
    good = os.path.join(tmp, "good.trace")
    r = tangle("run", "-q", "-o", good, "--", sample("thread_start"), "10")
    ok(r.status == 0, "a trace to damage", r.err)
    data = open(good, "rb").read()
    cases = {"missing": None, "empty": b"", "foreign": b"hello, I am not a trace\n" * 100,
             "truncated-header": data[:100], "newer-version": data[:8] + b"\x63\x00\x63\x00" + data[12:]}
    for what, content in cases.items():
        path = os.path.join(tmp, what + ".trace")
        if content is not None:
            with open(path, "wb") as f:
                f.write(content)
        for cmd in ("dump", "stats"):
            r = tangle(cmd, path)
            ok(r.status == 1, f"{cmd} on a {what} trace exits 1", f"status {r.status} {r.err[-300:]}")
            one_error_line(r, f"{cmd} on a {what} trace", path)
    # damage the event data: whatever the reader makes of it, no crash, and
    # either the events it trusts or one error line
    for what, cut in (("truncated-data", len(data) // 2), ("truncated-chunk", 4096 + 64 + 7)):
        path = os.path.join(tmp, what + ".trace")
        with open(path, "wb") as f:
            f.write(data[:cut])
        for cmd in ("dump", "stats"):
            r = tangle(cmd, path)
            ok(r.status in (0, 1), f"{cmd} on a {what} trace: 0 or 1, no crash", f"status {r.status}")
            if r.status == 1:
                one_error_line(r, f"{cmd} on a {what} trace", path)
    # the reader's detail names the kind of error itself: said once
    bad_record = bytearray(data)
    for off in range(4096, len(data) - 65536 + 1, 65536):
        owner, used = struct.unpack_from("<4xI8xI", data, off)
        if owner != 0xfffffffe and used > 0:     # a thread's chunk with events
            bad_record[off + 64] = 0xff          # its first record: no known kind
            break
    for what, content, kind in (("cut-after-header", data[:4096], "truncated"),
                                ("bad-record", bytes(bad_record), "corrupt chunk")):
        path = os.path.join(tmp, what + ".trace")
        with open(path, "wb") as f:
            f.write(content)
        for cmd in ("dump", "stats", "report"):
            r = tangle(cmd, path)
            if cmd == "report" and what == "bad-record":
                # records before the bad one are reported (docs/tangle.1.md), and
                # garbage can decode as records before the reader sees it is: a
                # misuse found there fails the run as any finding does
                ok(r.status in (1, 66), f"report on a {what} trace exits 1 or 66",
                   f"status {r.status} {r.err[-300:]}")
                ok(len([l for l in r.err.splitlines() if "cannot read trace" in l and kind in l])
                   == 1, f"report on a {what} trace: one error line naming {kind}", r.err[-300:])
                continue
            ok(r.status == 1, f"{cmd} on a {what} trace exits 1", f"status {r.status} {r.err[-300:]}")
            one_error_line(r, f"{cmd} on a {what} trace", kind)
            ok(re.search(r"\b(\w+)(?: chunk \d+)?: \1\b", r.err) is None,
               f"{cmd} on a {what} trace: no doubled prefix", r.err)
    path = os.path.join(tmp, "scribbled.trace")
    scribbled = bytearray(data)
    for off in range(4096 + 64, len(scribbled), 97):
        scribbled[off] ^= 0x5a
    with open(path, "wb") as f:
        f.write(scribbled)
    for cmd in ("dump", "stats"):
        r = tangle(cmd, path)
        ok(r.status in (0, 1), f"{cmd} on a scribbled trace: 0 or 1, no crash", f"status {r.status}")


CHECKS = {
    "sample": check_sample,
    "usage": check_usage,
    "exec-errors": check_exec_errors,
    "crash": check_crash,
    "exit-status": check_exit_status,
    "stdout": check_stdout,
    "unwritable-output": check_unwritable_output,
    "live-without-terminal": check_live_without_terminal,
    "default-trace": check_default_trace_name,
    "static-program": check_static_program,
    "survivor": check_survivor,
    "sigkill": check_sigkill,
    "on-deadlock": check_on_deadlock,
    "forward-signals": check_forward,
    "terminal-interrupt": check_terminal_interrupt,
    "abba-trace": check_abba_trace,
    "semaphore-trace": check_semaphore_trace,
    "process-trace": check_process_trace,
    "dump-options": check_dump_options,
    "stats": check_stats,
    "bad-traces": check_bad_traces,
}


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--tangle", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("check", choices=sorted(CHECKS))
    ap.add_argument("args", nargs="*")
    ARGS = ap.parse_args()
    ARGS.tangle = os.path.abspath(ARGS.tangle)     # checks run in a temporary directory
    ARGS.samples = os.path.abspath(ARGS.samples)
    with tempfile.TemporaryDirectory(prefix="tangle-cli-") as tmp:
        os.chdir(tmp)
        CHECKS[ARGS.check](tmp, *ARGS.args)
    finish()


if __name__ == "__main__":
    main()
