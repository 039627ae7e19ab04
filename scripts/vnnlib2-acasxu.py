#!/usr/bin/env python3
"""Every ACAS Xu instance through the VNN-LIB 2.0 solver command line.

usage: vnnlib2-acasxu.py BIN ACASXU_DIR OUT_DIR [--timeout-cap S] [--threads N]

Rewrites each property of the benchmark (VNN-LIB 1.0) as a 2.0 query with
scripts/vnnlib1-to-2.py into OUT_DIR, then for every instance of
acasxu_instances.csv runs

    BIN verify OUT_DIR/prop_K.vnnlib --network acasxu=MODEL --timeout T
    BIN check MODEL ACASXU_DIR/prop_K.vnnlib --timeout T

and compares the 2.0 answer (sat/unsat/unknown/timed-out) with the 1.0
verdict (violated/holds/unknown) and with expected.csv. Prints one line per
disagreement and a summary with the wall time of each side; exits 1 on any
wrong answer (sat where expected holds, or unsat where expected violated).
"""

import csv
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ANSWER = {0: "unsat", 1: "sat"}  # exit codes of verify; 3 is unknown/timed-out
VERDICT = {0: "holds", 1: "violated", 3: "unknown"}
SAME = {("unsat", "holds"), ("sat", "violated"), ("unknown", "unknown"), ("timed-out", "unknown")}


def main(argv):
    args = argv[1:]
    opts = {"--timeout-cap": None, "--threads": "1"}
    for flag in list(opts):
        if flag in args:
            i = args.index(flag)
            opts[flag] = args[i + 1]
            del args[i : i + 2]
    if len(args) != 3:
        sys.exit(__doc__)
    bin_, bench, out = Path(args[0]).resolve(), Path(args[1]), Path(args[2])
    out.mkdir(parents=True, exist_ok=True)
    for p in sorted(bench.glob("prop_*.vnnlib")):
        subprocess.run([sys.executable, ROOT / "scripts/vnnlib1-to-2.py", p, out / p.name, "--network", "acasxu"], check=True)
    expected = {}
    with open(bench / "expected.csv") as f:
        for row in csv.DictReader(f):
            expected[(row["onnx"], row["vnnlib"])] = row["expected"]
    seconds = {"verify": 0.0, "check": 0.0}
    counts = {"instances": 0, "same as 1.0": 0, "sat": 0, "unsat": 0, "other": 0, "wrong": 0}
    with open(bench / "acasxu_instances.csv") as f:
        for onnx, prop, timeout in csv.reader(f):
            t = float(timeout)
            if opts["--timeout-cap"]:
                t = min(t, float(opts["--timeout-cap"]))
            common = ["--timeout", str(t), "--threads", opts["--threads"]]
            start = time.monotonic()
            v = subprocess.run(
                [bin_, "verify", out / prop, "--network", f"acasxu={bench / onnx}", *common], capture_output=True, text=True
            )
            seconds["verify"] += time.monotonic() - start
            answer = v.stdout.partition("\n")[0] if v.returncode in (0, 1, 3) else f"error: {v.stderr.strip()}"
            start = time.monotonic()
            c = subprocess.run([bin_, "check", bench / onnx, bench / prop, *common], capture_output=True, text=True)
            seconds["check"] += time.monotonic() - start
            verdict = VERDICT.get(c.returncode, "error")
            counts["instances"] += 1
            counts["same as 1.0"] += (answer, verdict) in SAME
            counts[answer if answer in ("sat", "unsat") else "other"] += 1
            want = expected.get((onnx, prop))
            wrong = (answer, want) in {("sat", "holds"), ("unsat", "violated")}
            counts["wrong"] += wrong
            if wrong or (answer, verdict) not in SAME:
                print(f"{onnx} {prop}: 2.0 {answer}, 1.0 {verdict}, expected {want}")
    print(", ".join(f"{k}: {v}" for k, v in counts.items()))
    print(f"wall time: verify (2.0) {seconds['verify']:.1f} s, check (1.0) {seconds['check']:.1f} s")
    sys.exit(1 if counts["wrong"] else 0)


if __name__ == "__main__":
    main(sys.argv)
