"""Counts test cases in meson's testlog.json: each TAP line of a GLib test is one case; a test
program without TAP output counts as one case with its own result."""
import json
import re
import sys

passed = failed = skipped = 0
with open(sys.argv[1]) as f:
    for line in f:
        t = json.loads(line)
        cases = 0
        for out in (t.get("stdout") or "").splitlines():
            m = re.match(r"^(not ok|ok)\b(.*)$", out)
            if not m:
                continue
            cases += 1
            if m.group(1) == "not ok" and "# TODO" not in m.group(2):
                failed += 1
            elif "# SKIP" in m.group(2) or "# skip" in m.group(2):
                skipped += 1
            else:
                passed += 1
        result = t.get("result")
        if cases == 0 or result not in ("OK", "SKIP", "EXPECTEDFAIL"):
            # A crash or a timeout after some TAP lines still fails the program.
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:
                failed += 1
print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
sys.exit(1 if failed else 0)
