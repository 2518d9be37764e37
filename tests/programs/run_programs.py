#!/usr/bin/env python3
"""Run real C programs under `tangle run` and check each one's verdict.

Usage: run_programs.py --tangle TANGLE [--source PROG.c] PROG...

A program's expected verdict is the `verdict: KIND[/SUB]` line in its source
(PROG.c next to it, or --source when there is one program). `clean` means:
tangle exits 0 and reports nothing. Anything else means: tangle exits 66, a
finding of KIND (and sub-kind SUB when given) is there, and no finding of
another kind is (a false alarm fails the test just like a miss). The same
must hold for `tangle report` on the trace the run saved (issue 3: live and
offline agree, with the same JSON byte for byte); a failing program's trace
is kept for `tangle dump`.

Optional lines in the source check the finding of the expected kind more
closely: `lock-names: REGEX` (repeatable; some lock of it is named so),
`cycle-steps: N` (its cycle has N steps) and `only: KIND/SUB ...` (every
finding is one of these: a misuse program's other findings of the same
kind are false alarms too). Every finding must name its different locks
differently.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

TIMEOUT_S = 20
FINDINGS_EXIT = 66


def expected_verdict(source):
    with open(source, encoding='utf-8') as f:
        for line in f:
            m = re.search(r'verdict:\s*([a-z-]+)(?:/([a-z-]+))?', line)
            if m:
                return m.group(1), m.group(2)
    raise SystemExit(f'{source}: no "verdict:" line')


def expected_details(source):
    """The `lock-names:` patterns, the `cycle-steps:` count and the `only:`
    findings of SOURCE."""
    names, steps, only = [], None, None
    with open(source, encoding='utf-8') as f:
        for line in f:
            m = re.search(r'lock-names:\s*(\S.*?)\s*$', line)
            if m:
                names.append(m.group(1))
            m = re.search(r'cycle-steps:\s*(\d+)', line)
            if m:
                steps = int(m.group(1))
            m = re.search(r'only:\s*(\S.*?)\s*$', line)
            if m:
                only = set(m.group(1).replace(',', ' ').split())
    return names, steps, only


def detail_errors(what, kind, sub, findings, names, steps, only=None):
    errors = []
    if only is not None:
        extra = [f for f in findings if f"{f.get('kind')}/{f.get('sub_kind')}" not in only]
        if extra:
            errors.append(f'{what}: findings other than {sorted(only)}: {describe(extra)}')
    for f in findings:
        locks = f.get('locks', [])
        addrs = {}
        for lock in locks:
            addrs.setdefault(lock.get('name'), set()).add(lock.get('address'))
        for name, where in addrs.items():
            if len(where) > 1:
                errors.append(f'{what}: {len(where)} different locks are all called {name!r}')
    mine = [f for f in findings if f.get('kind') == kind and (sub is None or f.get('sub_kind') == sub)]
    for pattern in names:
        if not any(re.search(pattern, lock.get('name', '')) for f in mine for lock in f.get('locks', [])):
            errors.append(f'{what}: no lock named like {pattern!r}; locks: '
                          f'{[lock.get("name") for f in mine for lock in f.get("locks", [])][:8]}')
    if steps is not None and not any(len(f.get('steps', [])) == steps for f in mine):
        errors.append(f'{what}: no {kind} finding with {steps} steps; got '
                      f'{[len(f.get("steps", [])) for f in mine]}')
    return errors


def describe(findings):
    return ', '.join(f"{f.get('kind')}/{f.get('sub_kind')}" for f in findings) or 'none'


def run_tangle(cmd, out):
    """Runs one tangle command; returns (exit status, findings) or an error."""
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=TIMEOUT_S, text=True)
    except subprocess.TimeoutExpired:
        return None, None, f'did not finish within {TIMEOUT_S} s'
    try:
        with open(out, encoding='utf-8') as f:
            return proc.returncode, json.load(f)['findings'], proc.stderr
    except (OSError, ValueError, KeyError) as e:
        return proc.returncode, None, (f'no readable JSON report ({e}); exit '
                                       f'{proc.returncode}, stderr:\n{proc.stderr}')


def verdict_errors(what, kind, sub, status, findings):
    got = describe(findings)
    if kind == 'clean':
        if status != 0 or findings:
            return [f'{what}: expected clean, got exit {status} and findings: {got}']
        return []
    errors = []
    want = kind + (f'/{sub}' if sub else '')
    if status != FINDINGS_EXIT:
        errors.append(f'{what}: expected exit {FINDINGS_EXIT}, got {status}')
    if not any(f.get('kind') == kind and (sub is None or f.get('sub_kind') == sub)
               for f in findings):
        errors.append(f'{what}: expected {want}, got: {got}')
    others = [f for f in findings if f.get('kind') != kind]
    if others:
        errors.append(f'{what}: expected only {kind}, also got: {describe(others)}')
    return errors


def check(tangle, prog, source):
    """`tangle run` live, then `tangle report` on its trace: both must agree
    with the verdict. The trace is kept (and named) when either does not."""
    kind, sub = expected_verdict(source)
    names, steps, only = expected_details(source)
    name = os.path.basename(prog)
    tmp = tempfile.mkdtemp(prefix=f'tangle-{name}-')
    trace = os.path.join(tmp, 'trace.tgl')
    live_json = os.path.join(tmp, 'run.json')
    status, findings, stderr = run_tangle(
        [tangle, 'run', '-q', '--json', live_json, '-o', trace, '--', prog], live_json)
    if findings is None:
        return [f'{name}: tangle run: {stderr}']
    errors = verdict_errors(f'{name} (tangle run)', kind, sub, status, findings)
    errors += detail_errors(f'{name} (tangle run)', kind, sub, findings, names, steps, only)

    offline_json = os.path.join(tmp, 'report.json')
    rstatus, rfindings, rstderr = run_tangle(
        [tangle, 'report', '-q', '--json', offline_json, trace], offline_json)
    if rfindings is None:
        errors.append(f'{name}: tangle report: {rstderr}')
    else:
        errors += verdict_errors(f'{name} (tangle report)', kind, sub, rstatus, rfindings)
        with open(live_json, 'rb') as a, open(offline_json, 'rb') as b:
            if a.read() != b.read():
                errors.append(f'{name}: tangle report --json differs from tangle run --json '
                              f'({live_json}, {offline_json})')

    if errors:
        errors.append(f'{name}: trace kept in {tmp}; tangle run stderr:\n{stderr}')
    else:
        shutil.rmtree(tmp, ignore_errors=True)
        print(f'{name}: {describe(findings)} (expected {kind}{"/" + sub if sub else ""})')
    return errors


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--tangle', required=True)
    ap.add_argument('--source', help='the source of the one program given')
    ap.add_argument('programs', nargs='+')
    args = ap.parse_args()
    if args.source and len(args.programs) != 1:
        ap.error('--source takes exactly one program')

    failures = []
    for prog in args.programs:
        source = args.source or re.sub(r'^prog_', '', os.path.basename(prog)) + '.c'
        if not args.source:
            source = os.path.join(os.path.dirname(os.path.abspath(__file__)), source)
        failures += check(args.tangle, os.path.abspath(prog), source)
    for line in failures:
        print(line, file=sys.stderr)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
