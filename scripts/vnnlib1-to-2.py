#!/usr/bin/env python3
"""Rewrite a VNN-LIB 1.0 property (X_i / Y_i scalars) as a VNN-LIB 2.0 query.

usage: vnnlib1-to-2.py IN.vnnlib OUT.vnnlib [--network NAME] [--type real]

The 1.0 inputs X_0..X_{n-1} become the elements X[0,i] of one input tensor
of shape [1,n], the outputs likewise Y[0,k]; equality `=` becomes `==`.
Comments are kept. Only what the 1.0 files of VNN-COMP use is handled
(declare-const, assert with and/or/comparisons/+/-/*); anything else stops
the script with a message rather than being guessed at.
"""

import re
import sys


def main(argv):
    args = argv[1:]
    name, dtype = "net", "real"
    for flag in ("--network", "--type"):
        if flag in args:
            i = args.index(flag)
            value = args[i + 1]
            del args[i : i + 2]
            if flag == "--network":
                name = value
            else:
                dtype = value
    if len(args) != 2:
        sys.exit(__doc__)
    src, dst = args
    text = open(src).read()
    inputs = outputs = 0
    body = []
    for line in text.splitlines():
        stripped = line.strip()
        m = re.fullmatch(r"\(declare-const ([XY])_(\d+) Real\)", stripped)
        if m:
            if m.group(1) == "X":
                inputs = max(inputs, int(m.group(2)) + 1)
            else:
                outputs = max(outputs, int(m.group(2)) + 1)
            continue
        if stripped.startswith("(declare-") or stripped.startswith("(set-") or stripped.startswith("(check-sat"):
            sys.exit(f"{src}: cannot rewrite `{stripped}`")
        if "/" in stripped.split(";")[0]:
            sys.exit(f"{src}: `/` has no VNN-LIB 2.0 form: `{stripped}`")
        line = re.sub(r"\bX_(\d+)\b", r"X[0,\1]", line)
        line = re.sub(r"\bY_(\d+)\b", r"Y[0,\1]", line)
        line = re.sub(r"\(=(\s)", r"(==\1", line)
        body.append(line)
    if not inputs or not outputs:
        sys.exit(f"{src}: no X_i or Y_i declared")
    head = [
        "(vnnlib-version <2.0>)",
        f"; rewritten from {src.split('/')[-1]} (VNN-LIB 1.0)",
        f"(declare-network {name}",
        f"    (declare-input  X {dtype} [1,{inputs}])",
        f"    (declare-output Y {dtype} [1,{outputs}]))",
    ]
    with open(dst, "w") as f:
        f.write("\n".join(head + body) + "\n")


if __name__ == "__main__":
    main(sys.argv)
