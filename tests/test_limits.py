"""Hostile sizes are refused with a clear, located error in bounded time and memory: alias bombs,
nesting 10,000 deep (YAML and expressions), very large files, long lists and expressions.

Each case runs `segc validate` in a fresh process and measures its wall time and peak memory
(resource.getrusage). The bounds asserted here are loose (CI machines are shared); the figures
measured on a quiet machine are in docs/robustness.md:

    python tests/test_limits.py        # prints the table of docs/robustness.md
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

MODEL = """\
name: limits
model:
  persons: {table: persons, key: id, properties: {age: integer, country: string}}
  events: {table: events, person: id, event: name, timestamp: ts, properties: {x: integer}}
"""

BOMB = ("a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
        "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n")


def _spec(where: str, extra: str = "") -> str:
    return f"segment: x\nwhere: {where}\n{extra}"


# name -> (file text, expected code or None for valid, a word of the message)
CASES = {
    "valid (baseline)": (_spec("age > 1"), None, ""),
    "billion laughs (9^9 aliases)": (BOMB + _spec("true"), "SEG109", "aliases"),
    "recursive alias": ("loop: &l [*l]\n" + _spec("true"), "SEG109", "alias"),
    "YAML [ nested 10,000 deep": (_spec("true", "tags: " + "[" * 10_000 + "]" * 10_000 + "\n"), "SEG109", "nesting"),
    "YAML { nested 10,000 deep, unclosed": (_spec("true", "expect: " + "{a: " * 10_000 + "\n"), "SEG109", "nesting"),
    "YAML blocks nested 3,000 deep": (_spec("true", "meta:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(3000))), "SEG109", "nesting"),
    "( nested 10,000 deep": (_spec("(" * 10_000 + "age > 1" + ")" * 10_000), "SEG206", "nested"),
    "not nested 10,000 deep": (_spec("not " * 10_000 + "true"), "SEG206", "nested"),
    "unary minus 10,000 deep": (_spec("age > " + "- " * 10_000 + "1"), "SEG206", "nested"),
    "a + b + … 10,000 terms": (_spec("age > " + " + ".join(["age"] * 10_000)), "SEG206", "nested"),
    "or-chain of 5,000 tests": (_spec(" or ".join(f"age = {i}" for i in range(5000))), None, ""),
    "in-list of 10,000 values": (_spec("age in (" + ", ".join(str(i) for i in range(10_000)) + ")"), None, ""),
    "in-list of 10,001 values": (_spec("age in (" + ", ".join(str(i) for i in range(10_001)) + ")"), "SEG206", "at most 10,000"),
    "expression of 100,001 characters": (_spec("country = '" + "x" * 100_000 + "'"), "SEG206", "longer than"),
    "duration of 36,500 days": (_spec("count(buy within 36500d) > 0 and count(buy within 5214w) > 0"), None, ""),
    "duration of 36,501 days": (_spec("count(buy within 36501d) > 0"), "SEG203", "longer than 36,500 days"),
    "funnel of 48 steps of 100,000 characters (4.5 MiB)": (
        "insight: f\nkind: funnel\nwindow: 1d\nrange: within 30d\nsteps:\n"
        + "".join("  - buy where " + " or ".join(["x = 1"] * 10_000) + "\n" for _ in range(48)), "SEG206", "in all"),
    "16,000 errors on lines of 96,000 characters": (
        "insight: f\nkind: funnel\nwindow: 1d\nrange: within 30d\nsteps:\n"
        + "".join("  - buy where " + " or ".join(["nope = 1"] * 8_000) + "\n" for _ in range(2)), "SEG301", "unknown event property"),
    "file of 5 MiB + 1 byte": (_spec("true", "description: " + "x" * (5 * 1024 * 1024) + "\n"), "SEG109", "larger than"),
    "4.9 MiB of YAML values": (_spec("true", "meta:\n" + "".join(f"  k{i}: [1, 2, 3]\n" for i in range(240_000))), "SEG109", "values"),
    "4.9 MiB flow list": (_spec("true", "meta: [" + "1," * 2_500_000 + "]\n"), "SEG109", "values"),
}

PROBE = r"""
import json, resource, sys, time
from click.testing import CliRunner
t = time.perf_counter()
from segc.cli import main
r = CliRunner().invoke(main, ["validate", sys.argv[1]])
took = time.perf_counter() - t
# VmHWM is this process's own peak; ru_maxrss would carry the parent's peak across exec
peak = next((int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")), 0)
print(json.dumps({"exit": r.exit_code, "seconds": took, "peak_mib": peak / 1024,
                  "output": (r.stdout or "")[:2000] + (r.stderr or "")[:2000], "exception": repr(r.exception)}))
"""


def measure(text: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "specs").mkdir()
        (root / "segc.yml").write_text(MODEL, encoding="utf-8")
        (root / "specs" / "x.yml").write_text(text, encoding="utf-8")
        p = subprocess.run([sys.executable, "-c", PROBE, str(root)], capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout)


@pytest.mark.parametrize("case", list(CASES))
def test_refused_in_bounded_time_and_memory(case):
    text, code, word = CASES[case]
    got = measure(text)
    out = got["output"]
    assert "Traceback" not in out and "internal error" not in out, out
    if code is None:
        assert got["exit"] == 0, out
    else:
        assert got["exit"] == 1, out
        assert f": {code} " in out and word in out, out
        assert out.startswith("specs/x.yml:") or "specs/x.yml:" in out.splitlines()[0], out  # located
    assert got["seconds"] < 60, got["seconds"]  # about 3 s at most on a quiet machine: docs/robustness.md
    assert got["peak_mib"] < 1024, got["peak_mib"]


if __name__ == "__main__":
    print("| input | result | time | peak memory |")
    print("|---|---|---|---|")
    for name, (text, code, _) in CASES.items():
        got = measure(text)
        head = got["output"].splitlines()[0] if got["output"] else ""
        result = "accepted" if got["exit"] == 0 else head.split(": ", 1)[1][:70] if ": " in head else head[:70]
        print(f"| {name} ({len(text.encode()) / 1024:,.0f} KiB) | {result} | {got['seconds']:.2f} s | {got['peak_mib']:.0f} MiB |")
