#!/usr/bin/env python3
"""bench/view_time.py TANGLE TRACE: wall time from spawning `tangle view
TRACE` in a 200x60 pty until its output shows the title's "exit N" (the
frame after the trace is read), read straight from the pty, so no
terminal multiplexer competes with the view for the cores; then sends q.
Prints the wall time and the CPU time of the view's main thread and of
the whole process. Pair it with TUI_BENCH_TRACE=PATH bench/tui_bench."""
import fcntl, os, pty, re, select, struct, sys, termios, time
tangle, trace = sys.argv[1], sys.argv[2]
t0 = time.monotonic()
pid, fd = pty.fork()
if pid == 0:
    os.environ["TERM"] = "xterm-256color"; os.environ["LANG"] = "C.UTF-8"
    os.execv(tangle, [tangle, "view", trace])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 60, 200, 0, 0))
buf = b""; t1 = None
while time.monotonic() - t0 < 30:
    r, _, _ = select.select([fd], [], [], 0.5)
    if not r: continue
    try: data = os.read(fd, 65536)
    except OSError: break
    buf = (buf + data)[-200000:]
    if re.search(rb"exit [0-9]", buf):
        t1 = time.monotonic(); break
os.write(fd, b"q")
cpu = open(f"/proc/{pid}/stat").read().split(")")[1].split()
main = (int(open(f"/proc/{pid}/task/{pid}/stat").read().split(")")[1].split()[11]) + int(open(f"/proc/{pid}/task/{pid}/stat").read().split(")")[1].split()[12])) / 100
allc = (int(cpu[11]) + int(cpu[12])) / 100
while True:
    r, _, _ = select.select([fd], [], [], 2)
    if not r: break
    try:
        if not os.read(fd, 65536): break
    except OSError: break
os.waitpid(pid, 0)
print(f"wall {t1 - t0:.3f} s  main thread CPU {main:.2f} s  process CPU {allc:.2f} s" if t1 else "no exit seen")
