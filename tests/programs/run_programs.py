#!/usr/bin/env python3
"""Run real C programs under `tangle run` and check each one's verdict.

Usage: run_programs.py --tangle TANGLE [--source PROG.c] PROG...

A program's expected verdict is the `verdict: KIND[/SUB]` line in its source
(PROG.c next to it, or --source when there is one program). `clean` means:
tangle exits 0 and reports nothing. Anything else means: tangle exits 66, a
finding of KIND (and sub-kind SUB when given) is there, and no finding of
another kind is (a false alarm fails the test just like a miss).
"""
import argparse
import json
import os
import re
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


def describe(findings):
    return ', '.join(f"{f.get('kind')}/{f.get('sub_kind')}" for f in findings) or 'none'


def check(tangle, prog, source):
    kind, sub = expected_verdict(source)
    name = os.path.basename(prog)
    with tempfile.TemporaryDirectory(prefix='tangle-programs-') as tmp:
        out = os.path.join(tmp, 'findings.json')
        trace = os.path.join(tmp, 'trace.tgl')
        cmd = [tangle, 'run', '-q', '--json', out, '-o', trace, '--', prog]
        try:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  timeout=TIMEOUT_S, text=True)
        except subprocess.TimeoutExpired:
            return [f'{name}: tangle did not finish within {TIMEOUT_S} s']
        try:
            with open(out, encoding='utf-8') as f:
                findings = json.load(f)['findings']
        except (OSError, ValueError, KeyError) as e:
            return [f'{name}: no readable JSON report ({e}); tangle exited '
                    f'{proc.returncode}, stderr:\n{proc.stderr}']

    got = describe(findings)
    errors = []
    if kind == 'clean':
        if proc.returncode != 0 or findings:
            errors.append(f'{name}: expected clean, got exit {proc.returncode} '
                          f'and findings: {got}')
    else:
        want = kind + (f'/{sub}' if sub else '')
        if proc.returncode != FINDINGS_EXIT:
            errors.append(f'{name}: expected exit {FINDINGS_EXIT}, got {proc.returncode}')
        if not any(f.get('kind') == kind and (sub is None or f.get('sub_kind') == sub)
                   for f in findings):
            errors.append(f'{name}: expected {want}, got: {got}')
        others = [f for f in findings if f.get('kind') != kind]
        if others:
            errors.append(f'{name}: expected only {kind}, also got: {describe(others)}')
    if errors:
        errors.append(f'{name}: tangle stderr:\n{proc.stderr}')
    else:
        print(f'{name}: {got} (expected {kind}{"/" + sub if sub else ""})')
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
