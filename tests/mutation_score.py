"""`make mutation`'s score: mutants killed per package, from mutmut's results in `mutants/`.

    python -m tests.mutation_score [--min PACKAGE=PERCENT ...]

A mutant counts as killed when a test failed on it (or it timed out: the mutation made the code
loop), as survived when every test passed, and as untested when no unit test reaches its
function (mutmut's "no tests"): those count against the score too. Exits non-zero when a
package given with --min scores below its minimum.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

KILLED = {1, 3, 24, 36, 152, 255, -24, -9, -11}  # a failing test, a crash or a timeout
SURVIVED = {0}
UNTESTED = {5, 33}
SKIPPED = {34, 37, None}  # skipped, caught by the type checker, not run (yet)


def outcomes(folder: Path) -> dict[str, Counter[str]]:
    """Per top-level package: killed, survived, untested and not run, counted."""
    found: dict[str, Counter[str]] = {}
    for meta in sorted(folder.rglob("*.py.meta")):
        package = meta.relative_to(folder).parts[0]
        counts = found.setdefault(package, Counter())
        for code in json.loads(meta.read_text())["exit_code_by_key"].values():
            counts["killed" if code in KILLED else "survived" if code in SURVIVED
                   else "untested" if code in UNTESTED else "not run"] += 1
    return found


def score(counts: Counter[str]) -> float:
    """Killed among the mutants that were run, in %."""
    run = counts["killed"] + counts["survived"] + counts["untested"]
    return 100.0 * counts["killed"] / run if run else 0.0


def main(argv: list[str] | None = None) -> int:
    """Print the table; non-zero when a package misses its minimum."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=Path("mutants"))
    parser.add_argument("--min", action="append", default=[], metavar="PACKAGE=PERCENT")
    args = parser.parse_args(argv)
    found = outcomes(args.folder)
    out = sys.stdout
    out.write(f"{'package':<14}{'killed':>8}{'survived':>10}{'untested':>10}{'not run':>9}"
              f"{'score':>8}\n")
    for package, counts in sorted(found.items()):
        out.write(f"{package:<14}{counts['killed']:>8}{counts['survived']:>10}"
                  f"{counts['untested']:>10}{counts['not run']:>9}{score(counts):>7.1f}%\n")
    failing = []
    for wanted in args.min:
        package, _, percent = wanted.partition("=")
        if score(found.get(package, Counter())) < float(percent):
            failing.append(f"{package} below {percent}%")
    if failing:
        out.write("; ".join(failing) + "\n")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
