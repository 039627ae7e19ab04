#!/usr/bin/env python3
"""Check reluverify's VNN-LIB 2.0 support against the standard's own packages.

usage: vnnlib2-conformance.py BIN [ACASXU_DIR]

Needs the PyPI packages `vnnlib` (the standard's parser) and
`vnnlib-test-solver` (the reference implementation of the solver command
line); scripts/vnnlib2-conformance.sh installs them into a virtual
environment. Checks, each against something reluverify does not share:

1. The standard's parser accepts every shipped 2.0 query (specs/*_v2.vnnlib)
   and, with ACASXU_DIR, every ACAS Xu property rewritten by
   scripts/vnnlib1-to-2.py.
2. `reluverify supports` answers every capability the test solver knows,
   and the answers pass the test solver's schema (theory identifiers,
   element type names, version pairs, booleans) with no soundness warning.
3. `reluverify verify` on the shipped queries answers as `reluverify check`
   does on their VNN-LIB 1.0 twins, and a `sat` assignment is laid out
   exactly as the test solver renders the same values for the same query
   (names, types, dimensions, order; values equal as numbers).
4. The error conditions of the standard's verify command (missing or
   unneeded model files, element types it cannot analyse soundly) exit
   non-zero with nothing on standard output.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import vnnlib
from vnnlib_test_solver import assignments, querymodel, supports, validation

ROOT = Path(__file__).resolve().parent.parent
failures = []
passed = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    (passed if ok else failures).append(what)


def run(bin_, *args):
    return subprocess.run([bin_, *args], cwd=ROOT, capture_output=True, text=True)


def parser_accepts(paths):
    for p in paths:
        try:
            q = vnnlib.parse_query_file(str(p))
            check(q is not None, f"the standard's parser reads {p.name}")
        except vnnlib.VNNLibException as e:
            check(False, f"the standard's parser reads {p.name}: {e}")


def supports_answers(bin_):
    caps = {}
    for flag in supports.CAPABILITIES:
        o = run(bin_, "supports", flag)
        check(o.returncode == 0 and o.stdout.endswith("\n"), f"supports {flag} answers")
        lines = o.stdout.splitlines()
        key = supports.config_key(flag)
        if flag in supports.BOOLEAN_CAPABILITIES:
            check(lines in (["true"], ["false"]), f"supports {flag} is true or false")
            caps[key] = lines == ["true"]
        elif flag == supports.OPERATORS:
            caps[key] = [{"name": line.split()[0], "element-types": line.split()[1:]} for line in lines]
        else:
            caps[key] = lines
    raw = {"solver": {"name": "reluverify", "version": "0"}, "capabilities": caps}
    try:
        validation.validate(raw)
        check(True, "the answers pass the test solver's schema")
    except Exception as e:  # ConfigError names the offending key
        check(False, f"the answers pass the test solver's schema: {e}")
    warnings = validation.soundness_warnings(caps, {"sound-for": []})
    check(not warnings, f"no element type is claimed without sound analysis {warnings}")


def parse_block(text):
    """(header, [values]) per variable of an assignment block."""
    out = []
    for line in text.splitlines():
        try:
            out[-1][1].append(float(line))
        except (ValueError, IndexError):
            out.append((line, []))
    return out


def verify_like_check(bin_):
    cases = [
        ("specs/acasxu_prop1_v2.vnnlib", "acasxu", "models/ACASXU_run2a_1_1_batch_2000.onnx", "specs/acasxu_prop1.vnnlib"),
        ("specs/acasxu_prop2_v2.vnnlib", "acasxu", "models/ACASXU_run2a_2_1_batch_2000.onnx", "specs/acasxu_prop2.vnnlib"),
        ("specs/abs_v2.vnnlib", "abs", "models/abs.onnx", None),
    ]
    for query, name, model, twin in cases:
        o = run(bin_, "verify", query, "--network", f"{name}={model}", "--timeout", "60")
        first, _, block = o.stdout.partition("\n")
        if twin:
            t = run(bin_, "check", model, twin)
            want = {0: "unsat", 1: "sat"}.get(t.returncode, "unknown")
            check(first == want, f"verify {query}: {first}, check on the 1.0 twin: {want}")
        if first != "sat":
            continue
        ours = parse_block(block)
        model_q = querymodel.read_query(ROOT / query)
        values = {header.split()[0]: vals for header, vals in ours}
        try:
            theirs = parse_block(assignments.render(model_q, values))
        except Exception as e:
            check(False, f"the test solver renders our assignment for {query}: {e}")
            continue
        check([h for h, _ in ours] == [h for h, _ in theirs], f"assignment headers of {query} as the standard lays them out")
        check(ours == theirs, f"assignment values of {query} read back equal")


def error_conditions(bin_):
    with tempfile.TemporaryDirectory() as d:
        f32 = Path(d) / "abs_f32.vnnlib"
        f32.write_text((ROOT / "specs/abs_v2.vnnlib").read_text().replace("real", "float32"))
        cases = [
            ("a declared network without a model", ["verify", "specs/abs_v2.vnnlib"]),
            ("a model for an undeclared network", ["verify", "specs/abs_v2.vnnlib", "--network", "abs=models/abs.onnx", "--network", "g=models/abs.onnx"]),
            ("a type it cannot analyse soundly", ["verify", str(f32), "--network", "abs=models/abs.onnx"]),
        ]
        for what, args in cases:
            o = run(bin_, *args)
            check(o.returncode != 0 and o.stdout == "" and o.stderr != "", f"verify errors on {what}")


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    bin_ = os.path.abspath(sys.argv[1])
    queries = sorted((ROOT / "specs").glob("*_v2.vnnlib"))
    if len(sys.argv) == 3:
        with tempfile.TemporaryDirectory() as d:
            for p in sorted(Path(sys.argv[2]).glob("prop_*.vnnlib")):
                out = Path(d) / p.name
                subprocess.run([sys.executable, ROOT / "scripts/vnnlib1-to-2.py", p, out, "--network", "acasxu"], check=True)
                queries.append(out)
            parser_accepts(queries)
    else:
        parser_accepts(queries)
    supports_answers(bin_)
    verify_like_check(bin_)
    error_conditions(bin_)
    print(f"{len(passed)} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
