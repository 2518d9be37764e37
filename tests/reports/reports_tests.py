#!/usr/bin/env python3
"""Tests of tangle's reports (issue 3): text, JSON, SARIF, suppressions, exit
statuses, TANGLE_OPTIONS, colour, and `tangle report` against `tangle run`.

    reports_tests.py --tangle T --samples DIR --fixture DUMP --expected DIR
                     --npm DIR CHECK

One meson test per CHECK. Prints "ok ..." / "FAIL ..." per assertion; exits
0 when all hold, 1 when one fails, 77 (skip) when the check needs what this
machine lacks. Every program run has a time limit (its process group is
killed and the check fails), so a hang is a failure, never a stuck suite.

TANGLE_UPDATE_EXPECTED=1 rewrites tests/reports/expected from this build
(read the diff before committing it).
"""
import argparse
import json
import os
import pty
import re
import shutil
import signal
import subprocess
import sys
import tempfile

SKIP = 77
ARGS = None
FAILED = []
SOURCE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KINDS = {"deadlock", "lock-order", "misuse", "race"}
# noodle_fork starts its eaters 100 ms apart (default 10): on a loaded
# machine they could overlap and really deadlock, which is another verdict
NOODLE = ["noodle_fork", "100"]


def ok(cond, what, detail=""):
    print(("ok   " if cond else "FAIL ") + what + ("" if cond or not detail else "\n     " + detail))
    if not cond:
        FAILED.append(what)
    return cond


def skip(reason):
    print(f"skip: {reason}")
    sys.exit(SKIP)


def env(**extra):
    e = {k: v for k, v in os.environ.items()
         if k not in ("TANGLE_OPTIONS", "NO_COLOR", "GITHUB_WORKSPACE")}
    e.update(extra)
    return e


def run(argv, timeout=60, environ=None, cwd=None, stderr=subprocess.PIPE):
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL,
                         env=environ or env(), cwd=cwd, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        ok(False, f"{' '.join(argv)} ended within {timeout} s")
        raise SystemExit(1)
    return p.returncode, out.decode(errors="replace"), (err or b"").decode(errors="replace")


def sample(name):
    return os.path.join(ARGS.samples, name)


def tangle_run(tmp, prog, *opts, environ=None, tag="run"):
    """tangle run OPTS -o TMP/TAG.trace -- PROG; returns (status, stderr, trace)."""
    trace = os.path.join(tmp, tag + ".trace")
    status, _, err = run([ARGS.tangle, "run", *opts, "-o", trace, "--", *prog], environ=environ)
    return status, err, trace


def tangle_report(trace, *opts, environ=None):
    status, _, err = run([ARGS.tangle, "report", trace, *opts], environ=environ)
    return status, err


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


# ---- normalising what differs from run to run

NORMALISE = [
    (re.compile(r"(\.[ch]|\.S):\d+"), r"\1:N"),
    (re.compile(r"\btid \d+"), "tid N"),
    (re.compile(r"\bprocess \d+"), "process N"),
    (re.compile(r"0x[0-9a-f]+"), "0xADDR"),
    (re.compile(r'"(tid|pid|line|startLine)": \d+'), r'"\1": N'),
    (re.compile(r'"(module|program|command)": "[^"]*/([^"/]*)"'), r'"\1": "\2"'),
    (re.compile(r'"(module|program|command)": "([^"]*?) --case all"'), r'"\1": "\2"'),
]


def normalise(text):
    for pattern, repl in NORMALISE:
        text = pattern.sub(repl, text)
    return text


def dump_fixture(tmp):
    out = os.path.join(tmp, "fixture")
    os.makedirs(out, exist_ok=True)
    status, _, err = run([ARGS.fixture, out], cwd=SOURCE_ROOT)
    ok(status == 0, "dump_fixture wrote the fixture's reports", err)
    return out


# ---- checks

def check_expected(tmp):
    out = dump_fixture(tmp)
    update = os.environ.get("TANGLE_UPDATE_EXPECTED") == "1"
    names = sorted(n for n in os.listdir(out) if n.endswith((".txt", ".json")))
    ok(len(names) >= 10, f"{len(names)} reports to compare")
    for name in names:
        with open(os.path.join(out, name)) as f:
            got = normalise(f.read())
        want_path = os.path.join(ARGS.expected, name)
        if update:
            write(want_path, got)
            print(f"updated {want_path}")
            continue
        if not os.path.exists(want_path):
            ok(False, f"{name}: expected file exists", want_path)
            continue
        with open(want_path) as f:
            want = f.read()
        if not ok(got == want, f"{name} matches tests/reports/expected/{name}"):
            import difflib
            sys.stdout.writelines(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                                       "expected", "got", n=2))


def contract(doc, what):
    """The JSON contract of issue 3 (docs/report-formats.md)."""
    good = ok(isinstance(doc.get("tangle_version"), str), f"{what}: tangle_version")
    good &= ok(isinstance(doc.get("program"), str), f"{what}: program")
    good &= ok("exit_status" in doc and (doc["exit_status"] is None or
                                         isinstance(doc["exit_status"], int)), f"{what}: exit_status")
    findings = doc.get("findings")
    if not ok(isinstance(findings, list), f"{what}: findings is a list"):
        return
    for i, f in enumerate(findings):
        w = f"{what}: finding {i}"
        good &= ok(f.get("kind") in KINDS, f"{w}: kind {f.get('kind')}")
        good &= ok(isinstance(f.get("summary"), str) and f["summary"] != "", f"{w}: summary")
        threads, locks, stacks = f.get("threads"), f.get("locks"), f.get("stacks")
        good &= ok(isinstance(threads, list) and all(
            isinstance(t.get("id"), int) and isinstance(t.get("name"), str) and
            "created_at" in t and (t["created_at"] is None or isinstance(t["created_at"], str))
            for t in threads), f"{w}: threads have id, name, created_at")
        good &= ok(isinstance(locks, list) and all(
            isinstance(l.get("name"), str) and re.fullmatch(r"0x[0-9a-f]+", l.get("address", "")) and
            isinstance(l.get("kind"), str) and "site" in l for l in locks),
            f"{w}: locks have name, address (hex string), kind, site")
        good &= ok(isinstance(stacks, list) and all(
            isinstance(s, list) and all({"function", "file", "line"} <= set(fr) for fr in s)
            for s in stacks), f"{w}: stacks are lists of frames with function, file, line")
        ids = {t["id"] for t in threads}
        for st in f.get("steps", []):
            good &= ok(st.get("thread") is None or st["thread"] in ids, f"{w}: step thread listed")
            for key in ("lock",):
                good &= ok(st.get(key) is None or 0 <= st[key] < len(locks), f"{w}: step lock index")
            good &= ok(st.get("stack") is None or 0 <= st["stack"] < len(stacks), f"{w}: step stack index")
    return good


def check_json_contract(tmp):
    out = dump_fixture(tmp)
    with open(os.path.join(out, "all.json")) as f:
        doc = json.load(f)
    contract(doc, "fixture")
    ok(sorted({f["kind"] for f in doc["findings"]}) == sorted(KINDS), "fixture: every kind")
    ok(doc["exit_status"] == 3, "fixture: exit_status from the trace", str(doc["exit_status"]))
    for prog, kind in ((["abba_mythread", "100ms"], "deadlock"), (NOODLE, "lock-order"),
                       (["relock_self"], "deadlock"), (["thread_start", "10"], None)):
        js = os.path.join(tmp, prog[0] + ".json")
        status, err, _ = tangle_run(tmp, [sample(prog[0]), *prog[1:]], "--json", js, tag=prog[0])
        with open(js) as f:
            doc = json.load(f)
        contract(doc, prog[0])
        kinds = [f["kind"] for f in doc["findings"]]
        ok(kinds == ([kind] if kind else []), f"{prog[0]}: findings {kinds}")
        if kind:
            names = {l["name"] for f in doc["findings"] for l in f["locks"]}
            ok(names & {"mutexA", "mutexB", "noodle_lock", "fork_lock", "lock"} == names,
               f"{prog[0]}: locks named by their variables {sorted(names)}")


def validator():
    """node + ajv 6 + the SARIF 2.1.0 schema (from @microsoft/jest-sarif), as
    quickstart.sh installs them in BUILD/npm; None if missing."""
    schema = os.path.join(ARGS.npm, "node_modules", "@microsoft", "jest-sarif", "lib", "schemas",
                          "sarif-2.1.0-rtm.5.json")
    ajv = os.path.join(ARGS.npm, "node_modules", "ajv")
    node = shutil.which("node") or shutil.which("nodejs")
    if node and os.path.exists(schema) and os.path.isdir(ajv):
        return node, schema
    return None


VALIDATE_JS = r"""
const path = require('path');
const fs = require('fs');
const npm = process.argv[2], schemaPath = process.argv[3];
const Ajv = require(path.join(npm, 'node_modules', 'ajv'));
const ajv = new Ajv({ schemaId: 'id', allErrors: true, logger: false });
ajv.addMetaSchema(require(path.join(npm, 'node_modules', 'ajv', 'lib', 'refs',
                                    'json-schema-draft-04.json')));
const validate = ajv.compile(JSON.parse(fs.readFileSync(schemaPath)));
let bad = 0;
for (const f of process.argv.slice(4)) {
  if (validate(JSON.parse(fs.readFileSync(f)))) { console.log('valid ' + f); continue; }
  bad++;
  console.log('INVALID ' + f + '\n' + JSON.stringify(validate.errors.slice(0, 5), null, 1));
}
process.exit(bad ? 1 : 0);
"""


def check_sarif_schema(tmp):
    v = validator()
    if not v:
        if os.environ.get("CI"):
            ok(False, "the SARIF validator is installed (quickstart.sh test installs it in build/npm)")
            return
        skip(f"no SARIF validator in {ARGS.npm} (./quickstart.sh test installs it)")
    node, schema = v
    out = dump_fixture(tmp)
    files = [os.path.join(out, "all.sarif")]
    for prog in (["abba_mythread", "100ms"], NOODLE, ["relock_self"], ["thread_start", "10"]):
        sf = os.path.join(tmp, prog[0] + ".sarif")
        tangle_run(tmp, [sample(prog[0]), *prog[1:]], "--sarif", sf, tag=prog[0])
        files.append(sf)
    # a schema violation must be caught: the validator itself is tested
    with open(files[0]) as f:
        broken = json.load(f)
    broken["runs"][0]["results"][0]["level"] = "fatal"
    files.append(write(os.path.join(tmp, "broken.sarif"), json.dumps(broken)))
    js = write(os.path.join(tmp, "validate.js"), VALIDATE_JS)
    status, out_, err = run([node, js, ARGS.npm, schema, *files])
    print(out_, end="")
    lines = out_.splitlines()
    for f in files[:-1]:
        ok(f"valid {f}" in lines, f"{os.path.basename(f)} validates against the SARIF 2.1.0 schema", err)
    ok(f"INVALID {files[-1]}" in out_, "a SARIF with a bad level is rejected (the validator works)")

    with open(files[0]) as f:
        doc = json.load(f)
    run0 = doc["runs"][0]
    rules = [r["id"] for r in run0["tool"]["driver"]["rules"]]
    ok(len(run0["results"]) == 9, "one result per finding")
    # inside a checkout the file is found under the root; in an unpacked
    # tarball it keeps the name the debug info gives
    want_uri = ("tests/reports/report_fixture.c" if os.path.exists(os.path.join(SOURCE_ROOT, ".git"))
                else "report_fixture.c")
    for res in run0["results"]:
        ok(res["ruleId"] in rules and rules[res["ruleIndex"]] == res["ruleId"],
           f"{res['ruleId']}: rule listed with help")
        loc = res["locations"][0]["physicalLocation"]["artifactLocation"]
        ok(loc.get("uri") == want_uri and loc.get("uriBaseId") == "SRCROOT",
           f"{res['ruleId']}: primary location relative to the repository root", str(loc))
    related = run0["results"][0]["relatedLocations"]
    ok(len(related) >= 2, "lock-order: the other edge and the acquisition sites are related locations")
    ok(run0["originalUriBaseIds"]["SRCROOT"]["uri"] == "file://" + SOURCE_ROOT + "/",
       "SRCROOT is the repository root", run0["originalUriBaseIds"]["SRCROOT"]["uri"])


SEP = "=================="


def findings_text(err):
    """The finding blocks of a stderr, without the summary and program output."""
    lines = err.splitlines()
    if SEP not in lines:
        return ""
    first = lines.index(SEP)
    last = len(lines) - 1 - lines[::-1].index(SEP)
    return "\n".join(lines[first:last + 1])


def check_run_vs_report(tmp):
    for prog in (["abba_mythread", "100ms"], NOODLE, ["relock_self"], ["thread_start", "10"],
                 ["semaphore_pool", "20"]):
        a, b = os.path.join(tmp, "a.json"), os.path.join(tmp, "b.json")
        s_run, e_run, trace = tangle_run(tmp, [sample(prog[0]), *prog[1:]], "--json", a, tag=prog[0])
        s_rep, e_rep = tangle_report(trace, "--json", b)
        with open(a, "rb") as fa, open(b, "rb") as fb:
            ok(fa.read() == fb.read(), f"{prog[0]}: `tangle report --json` equals the live run's, byte for byte")
        ok(findings_text(e_run) == findings_text(e_rep), f"{prog[0]}: the same text report",
           f"run:\n{findings_text(e_run)}\nreport:\n{findings_text(e_rep)}")
        found = bool(findings_text(e_run))
        ok(s_rep == (66 if found else 0), f"{prog[0]}: report exits {s_rep}")
        if prog[0] in ("abba_mythread", "relock_self"):
            # tangle ended the deadlocked program with SIGKILL: the tracer
            # could not say so, tangle run recorded it in the trace
            with open(a) as fa:
                st = json.load(fa)["exit_status"]
            ok(st == 128 + 9, f"{prog[0]}: exit_status 137 (SIGKILL by tangle), not {st}")
        if found:
            ok(s_run == 66, f"{prog[0]}: run exits 66 ({s_run})")


def check_suppressions(tmp):
    prog = [sample(NOODLE[0]), *NOODLE[1:]]
    status, err, trace = tangle_run(tmp, prog)
    ok(status == 66, "noodle_fork: 66 without suppressions")
    supp = write(os.path.join(tmp, "match.supp"), "# the noodle demo\n\nlock-order:eat2   # known\n")
    status, err, _ = tangle_run(tmp, prog, "--suppressions", supp)
    ok(status == 0, f"a matching suppression: PROGRAM's status 0 ({status})", err)
    ok("1 finding suppressed: 1 by lock-order:eat2" in err, "the summary says what was suppressed", err)
    ok("lock-order inversion" not in err, "the suppressed finding is not printed")
    for text in ("lock-order:eat3\n", "deadlock:eat2\n", "misuse:*\n"):
        other = write(os.path.join(tmp, "other.supp"), text)
        status, err, _ = tangle_run(tmp, prog, "--suppressions", other)
        ok(status == 66, f"{text.strip()}: no match, still 66 ({status})")
    for pattern in ("noodle_lock", "noodle_fork.c", "eat*", "fork_?ock"):
        s = write(os.path.join(tmp, "p.supp"), f"lock-order:{pattern}\n")
        ok(tangle_report(trace, "--suppressions", s)[0] == 0, f"lock-order:{pattern} matches")
    bad = write(os.path.join(tmp, "bad.supp"), "lock-order:eat2\nlockorder:eat1\n")
    status, err, _ = tangle_run(tmp, prog, "--suppressions", bad)
    ok(status == 125, f"run: a malformed suppression file fails with 125 ({status})")
    ok(f"{bad}:2: unknown finding kind 'lockorder'" in err, "run: the error names FILE:LINE", err)
    status, err = tangle_report(trace, "--suppressions", bad)
    ok(status == 2, f"report: a malformed suppression file is a usage error, 2 ({status})")
    ok(f"{bad}:2:" in err, "report: the error names FILE:LINE", err)
    status, err = tangle_report(trace, "--suppressions", supp, "--suppressions", bad)
    ok(status == 2, "report: every file is checked")


def check_exit_status(tmp):
    prog = [sample(NOODLE[0]), *NOODLE[1:]]
    cases = [((), 66), (("--fail-on", "deadlock"), 0), (("--fail-on", "lock-order"), 66),
             (("--fail-on", "misuse,race"), 0), (("--fail-on", "deadlock,lock-order"), 66),
             (("--exitcode", "3"), 3), (("--fail-on", "deadlock", "--exitcode", "3"), 0)]
    trace = None
    for opts, want in cases:
        status, err, trace = tangle_run(tmp, prog, *opts)
        ok(status == want, f"run {' '.join(opts) or '(defaults)'}: {want} ({status})")
        status, err = tangle_report(trace, *opts)
        ok(status == want, f"report {' '.join(opts) or '(defaults)'}: {want} ({status})")
    status, _ = tangle_report(trace, "--fail-on", "lock-order", "--exitcode", "0")
    ok(status == 0, "--exitcode 0 is allowed")
    status, err = tangle_report(os.path.join(tmp, "missing.trace"))
    ok(status == 1 and "cannot read trace" in err, f"report: a missing trace exits 1 ({status})", err)
    notrace = write(os.path.join(tmp, "not.trace"), "hello\n" * 100)
    ok(tangle_report(notrace)[0] == 1, "report: a file that is not a trace exits 1")
    ok(tangle_report(trace, "--fail-on", "everything")[0] == 2, "report: bad --fail-on is a usage error")
    status, _, err = run([ARGS.tangle, "report"])
    ok(status == 2, "report: no trace is a usage error")
    status, _, err = run([ARGS.tangle, "report", trace, trace])
    ok(status == 2, "report: two traces is a usage error")
    status, out, _ = run([ARGS.tangle, "report", trace, "--json", "-", "-q"])
    ok(status == 66 and json.loads(out)["findings"][0]["kind"] == "lock-order", "--json - writes stdout")
    status, err = tangle_report(trace, "--json", "/nonexistent-dir/x.json")
    ok(status == 125 and "cannot write the JSON report" in err, f"unwritable --json: 125 ({status})", err)
    # a killed program's trace (deadlock): report reads it as it was left
    status, err, trace = tangle_run(tmp, [sample("relock_self")], tag="relock")
    ok(status == 66, f"relock_self: 66 ({status})")
    ok(tangle_report(trace)[0] == 66, "report on a killed program's trace: 66")
    status, err, _ = tangle_run(tmp, [sample("relock_self")], "--fail-on", "misuse", tag="relock2")
    ok(status == 128 + signal.SIGKILL, f"relock_self --fail-on misuse: ended by tangle, 137 ({status})")
    status, err, _ = tangle_run(tmp, [sample("thread_start"), "10"], "--exitcode", "9")
    ok(status == 0, f"a clean program: its own status ({status})")


def check_tangle_options(tmp):
    prog = [sample(NOODLE[0]), *NOODLE[1:]]
    status, _, trace = tangle_run(tmp, prog, environ=env(TANGLE_OPTIONS="exitcode=42"))
    ok(status == 42, f"run: TANGLE_OPTIONS exitcode=42 ({status})")
    status, _, _ = tangle_run(tmp, prog, "--exitcode", "5", environ=env(TANGLE_OPTIONS="exitcode=42"))
    ok(status == 5, f"run: --exitcode wins over TANGLE_OPTIONS ({status})")
    supp = write(os.path.join(tmp, "env.supp"), "lock-order:eat1\n")
    status, err, _ = tangle_run(tmp, prog, environ=env(TANGLE_OPTIONS=f"suppressions={supp}"))
    ok(status == 0, f"run: TANGLE_OPTIONS suppressions= ({status})", err)
    status, _, _ = tangle_run(tmp, prog, environ=env(TANGLE_OPTIONS="fail_on=deadlock:exitcode=7"))
    ok(status == 0, f"run: TANGLE_OPTIONS fail_on=deadlock ({status})")
    ok(tangle_report(trace, environ=env(TANGLE_OPTIONS="exitcode=42"))[0] == 42, "report: exitcode=42")
    ok(tangle_report(trace, environ=env(TANGLE_OPTIONS=f"suppressions={supp}"))[0] == 0,
       "report: suppressions=")
    status, err, _ = tangle_run(tmp, prog, environ=env(TANGLE_OPTIONS="exitcode=lots"))
    ok(status == 125 and "TANGLE_OPTIONS" in err, f"run: a bad TANGLE_OPTIONS fails with 125 ({status})", err)
    status, err = tangle_report(trace, environ=env(TANGLE_OPTIONS="suppresions=x"))
    ok(status == 2 and "unknown option 'suppresions'" in err, f"report: a bad TANGLE_OPTIONS is 2 ({status})", err)


def on_pty(argv, environ):
    """Runs argv with stderr on a terminal; returns what it wrote there."""
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=slave, stdin=subprocess.DEVNULL,
                         env=environ, start_new_session=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    p.wait(timeout=60)
    os.close(master)
    return b"".join(chunks).decode(errors="replace")


def check_colour(tmp):
    _, _, trace = tangle_run(tmp, [sample(NOODLE[0]), *NOODLE[1:]])
    text = on_pty([ARGS.tangle, "report", trace], env(TERM="xterm"))
    ok("\x1b[1;31mtangle: lock-order inversion" in text, "a terminal gets colour", repr(text[:200]))
    text = on_pty([ARGS.tangle, "report", trace], env(TERM="xterm", NO_COLOR="1"))
    ok("tangle: lock-order inversion" in text and "\x1b[" not in text, "NO_COLOR: none")
    text = on_pty([ARGS.tangle, "report", trace], env(TERM="dumb"))
    ok("\x1b[" not in text, "TERM=dumb: none")
    _, err = tangle_report(trace)
    ok("tangle: lock-order inversion" in err and "\x1b[" not in err, "a pipe: none")
    _, err = tangle_report(trace, environ=env(TANGLE_OPTIONS="color=always"))
    ok("\x1b[1;31m" in err, "TANGLE_OPTIONS color=always: colour in a pipe")


CHECKS = {
    "expected": check_expected,
    "json-contract": check_json_contract,
    "sarif-schema": check_sarif_schema,
    "run-vs-report": check_run_vs_report,
    "suppressions": check_suppressions,
    "exit-status": check_exit_status,
    "tangle-options": check_tangle_options,
    "colour": check_colour,
}


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    for opt in ("--tangle", "--samples", "--fixture", "--expected", "--npm"):
        ap.add_argument(opt, required=True)
    ap.add_argument("check", choices=sorted(CHECKS))
    ARGS = ap.parse_args()
    for name in ("tangle", "samples", "fixture", "expected", "npm"):
        setattr(ARGS, name, os.path.abspath(getattr(ARGS, name)))
    if not os.path.exists(os.path.join(ARGS.samples, "noodle_fork")):
        skip("samples not built")
    tmp = tempfile.mkdtemp(prefix="tg-reports-")
    try:
        CHECKS[ARGS.check](tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{'FAILED: ' + ', '.join(FAILED) if FAILED else 'all passed'}")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
