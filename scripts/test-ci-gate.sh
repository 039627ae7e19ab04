#!/usr/bin/env bash
# Run the shell steps of examples/ci/safety-gate.yml locally, as GitHub
# Actions would (`bash -e`, the workflow's env, $GITHUB_PATH), and check
# what they do:
# - every action is pinned to a full commit id;
# - "Put reluverify on the PATH", with a stand-in `cargo` that records its
#   arguments: in this repository it builds the checkout and puts
#   target/release on the PATH; elsewhere it refuses an unpinned
#   RELUVERIFY_REV and installs a pinned one with `cargo install --git
#   --rev --locked`, putting the install folder on the PATH;
# - "Verify the controller", with reluverify on the PATH: exit 0 on the
#   workflow's own holding properties, exit 1 with an error annotation and a
#   counterexample file on a violated one.
# The package, toolchain and cache steps are GitHub's own and not run.
#
# Usage: scripts/test-ci-gate.sh [RELUVERIFY_BINARY]  (default: target/release/reluverify)
# Needs python3 with PyYAML to read the workflow; exits 77 (skipped) without.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$(realpath "${1:-$root/target/release/reluverify}")"
[ -x "$bin" ] || { echo "error: $bin is not an executable; build it or pass the binary" >&2; exit 2; }
python3 -c 'import yaml' 2>/dev/null || { echo "skipped: python3 with PyYAML is needed to read the workflow" >&2; exit 77; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The workflow's env as `export` lines, and each shell step as a script.
python3 - "$root/examples/ci/safety-gate.yml" "$work" <<'PY'
import re, shlex, sys, yaml
wf = yaml.safe_load(open(sys.argv[1]))
work = sys.argv[2]
steps = wf["jobs"]["verify"]["steps"]
for s in steps:
    if "uses" in s and not re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", s["uses"]):
        sys.exit(f"action not pinned to a commit: {s['uses']}")
with open(f"{work}/env.sh", "w") as f:
    for k, v in wf["env"].items():
        f.write(f"export {k}={shlex.quote(str(v))}\n")
runs = {s["name"]: s["run"] for s in steps if "run" in s}
for name, file in [("Put reluverify on the PATH", "install.sh"), ("Verify the controller", "verify.sh")]:
    if name not in runs:
        sys.exit(f"no step named {name!r}")
    open(f"{work}/{file}", "w").write(runs[name])
PY

fail() { echo "FAIL: $*" >&2; exit 1; }

# A stand-in cargo that records its arguments.
mkdir -p "$work/stub" "$work/home" "$work/other"
printf '#!/bin/sh\necho "$@" >> "%s/cargo.log"\n' "$work" > "$work/stub/cargo"
chmod +x "$work/stub/cargo"

# Run step $1 in folder $2 with the workflow's env, then the assignments "$@".
step() {
    local script="$1" dir="$2"
    shift 2
    : > "$work/cargo.log"
    : > "$work/github_path"
    (
        . "$work/env.sh"
        export HOME="$work/home" GITHUB_PATH="$work/github_path" "$@"
        cd "$dir"
        bash -e "$work/$script"
    ) > "$work/out.txt" 2>&1
}

# In this repository: build the checkout, target/release on the PATH.
step install.sh "$root" PATH="$work/stub:$PATH" || fail "install step in the repository: $(cat "$work/out.txt")"
grep -qx -- "build --release --locked" "$work/cargo.log" || fail "expected cargo build --release --locked, got: $(cat "$work/cargo.log")"
grep -qx -- "$root/target/release" "$work/github_path" || fail "target/release not put on the PATH"
echo "ok: in this repository the install step builds the checkout and puts target/release on the PATH"

# Elsewhere, unpinned: refused before anything is installed.
if step install.sh "$work/other" PATH="$work/stub:$PATH"; then fail "an unpinned RELUVERIFY_REV was accepted"; fi
grep -q "::error::set RELUVERIFY_REV" "$work/out.txt" || fail "no error annotation: $(cat "$work/out.txt")"
[ ! -s "$work/cargo.log" ] || fail "cargo ran with an unpinned revision"
echo "ok: elsewhere an unpinned RELUVERIFY_REV is refused"

# Elsewhere, pinned: cargo install --git --rev --locked, its bin folder on the PATH.
rev=0123456789abcdef0123456789abcdef01234567
step install.sh "$work/other" PATH="$work/stub:$PATH" RELUVERIFY_REV="$rev" || fail "pinned install: $(cat "$work/out.txt")"
. "$work/env.sh"
grep -q -- "^install --git $RELUVERIFY_GIT --rev $rev --locked .* reluverify$" "$work/cargo.log" \
    || fail "expected cargo install --git --rev --locked, got: $(cat "$work/cargo.log")"
grep -qx -- "$work/home/.reluverify/bin" "$work/github_path" || fail "install folder not put on the PATH"
echo "ok: elsewhere a pinned RELUVERIFY_REV is installed with cargo install --git --rev --locked"

# The verify step, with reluverify on the PATH as the install step leaves it.
mkdir -p "$work/bin" "$work/holds" "$work/violated"
ln -s "$bin" "$work/bin/reluverify"
specs=""
for s in $SPECS; do specs="$specs $root/$s"; done
step verify.sh "$work/holds" PATH="$work/bin:$PATH" MODEL="$root/$MODEL" SPECS="${specs# }" \
    || fail "verify step on the workflow's own properties: $(cat "$work/out.txt")"
for s in $SPECS; do
    grep -q "$root/$s: holds" "$work/out.txt" || fail "$s not reported as holding: $(cat "$work/out.txt")"
done
echo "ok: the verify step passes on $SPECS"

printf '{"inputs": [{"lower": -1, "upper": 1}], "unsafe": "y0 >= 0.9"}' > "$work/abs_09.json"
code=0
step verify.sh "$work/violated" PATH="$work/bin:$PATH" MODEL="$root/models/abs.onnx" SPECS="$work/abs_09.json" || code=$?
[ "$code" -eq 1 ] || fail "verify step on a violated property: exit $code, expected 1: $(cat "$work/out.txt")"
grep -q "::error file=$work/abs_09.json::violated" "$work/out.txt" || fail "no error annotation: $(cat "$work/out.txt")"
[ -s "$work/violated/verification/abs_09-counterexample.json" ] || fail "no counterexample file"
echo "ok: the verify step fails on a violated property, with an annotation and the counterexample"
