#!/usr/bin/env python3
"""Prints the closing line CI reads ('N passed, N failed, N skipped') from
meson's test log, counting Criterion/TAP subtests where meson recorded them."""
import json, sys

passed = failed = skipped = 0
with open(sys.argv[1]) as f:
    for line in f:
        r = json.loads(line)
        res = r.get("result", "")
        if res in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif res == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
