"""Sampled mutation testing: does a test notice when a line of a module is broken on purpose?

    python scripts/mutation_sample.py dashai_store/maintenance/gc.py --tests tests/test_maintenance.py \\
        --count 20 --seed 1

Each mutant is one small change to one line (a flipped comparison, ``and``/``or`` swapped, a
negated condition, ``True``/``False`` swapped, a ``return <value>`` made ``return None``, a
call statement dropped, a constant off by one); mutants are drawn at random (``--seed``
replays a draw) from every line that admits one, applied to the file in place, and the given
tests run against it (``pytest -x -q``; a test failing or erroring kills the mutant). The
file is restored after every mutant, and on Ctrl-C. The score is killed / (killed +
survived); a mutant whose tests time out counts as killed (the change hung them).

Text inside string literals is never mutated (a message's wording is not logic). Survivors
are printed with their line: each is either a missing test or an equivalent change
(one no behaviour can tell apart); the second kind is for a person to judge. Run it on a
clean work tree: it edits the file it mutates.
"""

from __future__ import annotations

import argparse
import random
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (pattern, replacement, label): applied to the first match in a line.
OPERATORS: tuple[tuple[str, str, str], ...] = (
    (r" == ", " != ", "== -> !="),
    (r" != ", " == ", "!= -> =="),
    (r" <= ", " < ", "<= -> <"),
    (r" >= ", " > ", ">= -> >"),
    (r" < ", " <= ", "< -> <="),
    (r" > ", " >= ", "> -> >="),
    (r" and ", " or ", "and -> or"),
    (r" or ", " and ", "or -> and"),
    (r"\bif not ", "if ", "drop not"),
    (r"\bif (?!not )", "if not ", "negate if"),
    (r"\bTrue\b", "False", "True -> False"),
    (r"\bFalse\b", "True", "False -> True"),
    (r"^(\s*)return (?!None\b)\S.*$", r"\1return None", "return None"),
    (r"(?<![\w.])([1-9]\d*)(?![\w.])", "<int+1>", "constant + 1"),
)
CALL_STATEMENT = re.compile(r"^(\s*)[\w.]+\(.*\)\s*$")
STRING = re.compile(r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""")


def _masked(code: str) -> str:
    """``code`` with the insides of its string literals blanked: a change to a message's
    wording is not a mutant of the logic."""
    return STRING.sub(lambda m: m.group(0)[0] + "_" * (len(m.group(0)) - 2) + m.group(0)[-1], code)


@dataclass(frozen=True)
class Mutant:
    line: int  # 0-based
    label: str
    text: str  # the mutated line


def _code_lines(source: list[str]) -> list[int]:
    """Lines of code outside docstrings and comments."""
    lines: list[int] = []
    in_doc = False
    for index, line in enumerate(source):
        stripped = line.strip()
        quotes = stripped.count('"""') + stripped.count("'''")
        if in_doc:
            in_doc = quotes % 2 == 0
            continue
        if stripped.startswith(('"""', "'''")):
            in_doc = quotes % 2 == 1
            continue
        if not stripped or stripped.startswith(("#", "import ", "from ", "@", "def ", "class ")):
            continue
        lines.append(index)
    return lines


def candidates(source: list[str]) -> list[Mutant]:
    found: list[Mutant] = []
    for index in _code_lines(source):
        line = source[index]
        code, _, _ = line.partition("  #")
        masked = _masked(code)
        for pattern, replacement, label in OPERATORS:
            match = re.search(pattern, masked)
            if match is None:
                continue
            if replacement == "<int+1>":
                value = str(int(code[match.start(1) : match.end(1)]) + 1)
                mutated = code[: match.start(1)] + value + code[match.end(1) :]
            else:
                original = re.match(pattern, code[match.start() :], re.M)
                if original is None:
                    continue
                mutated = code[: match.start()] + original.expand(replacement) + code[match.end() :]
            found.append(Mutant(index, label, mutated.rstrip("\n") + "\n"))
        if CALL_STATEMENT.match(code) and not code.rstrip().endswith(("(", ",")):
            indent = CALL_STATEMENT.match(code).group(1)  # type: ignore[union-attr]
            found.append(Mutant(index, "drop call", f"{indent}pass\n"))
    return found


def run_tests(tests: list[str], timeout_s: float) -> str:
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        return "killed (timeout)"
    if proc.returncode == 0:
        return "survived"
    if proc.returncode == 5:
        raise SystemExit("the tests collected nothing: check --tests")
    return "killed"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("module", type=Path, help="the .py file to mutate")
    parser.add_argument("--tests", nargs="+", required=True, help="test files (node ids) run per mutant")
    parser.add_argument("--count", type=int, default=20, help="mutants to draw (default 20)")
    parser.add_argument("--seed", type=int, default=None, help="replay a draw")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per mutant's test run")
    args = parser.parse_args(argv)

    path = args.module.resolve()
    original = path.read_text()
    source = original.splitlines(keepends=True)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    pool = candidates(source)
    drawn = random.Random(seed).sample(pool, min(args.count, len(pool)))
    name = path.relative_to(ROOT)
    print(f"{name}: {len(pool)} possible mutants, {len(drawn)} drawn (seed {seed})", flush=True)
    if run_tests(args.tests, args.timeout) != "survived":
        print("the tests fail on the unmutated code: fix that first", file=sys.stderr)
        return 2
    killed = survived = 0
    try:
        for mutant in sorted(drawn, key=lambda m: m.line):
            mutated = [*source[: mutant.line], mutant.text, *source[mutant.line + 1 :]]
            path.write_text("".join(mutated))
            try:
                compile("".join(mutated), str(path), "exec")
            except SyntaxError:
                continue  # not a mutant Python can load: not counted
            outcome = run_tests(args.tests, args.timeout)
            if outcome == "survived":
                survived += 1
            else:
                killed += 1
            before = source[mutant.line].strip()
            print(f"{outcome:17} line {mutant.line + 1:4} {mutant.label:14} {before}", flush=True)
    finally:
        path.write_text(original)
    total = killed + survived
    score = f"{100 * killed / total:.0f}%" if total else "n/a"
    print(f"score {score}: {killed} killed, {survived} survived (seed {seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
