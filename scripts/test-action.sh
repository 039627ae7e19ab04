#!/usr/bin/env bash
# Test the reusable action locally: scripts/action-check.sh on the shipped
# models and properties, and action.yml as GitHub would run it.
#
# - action-check.sh with the real binary: a holding property (exit 0, counts
#   in $GITHUB_OUTPUT, a summary table), a violated one (exit 1, an error
#   annotation naming the file, the counterexample file), an unknown one
#   (exit 3, a warning), a globstar pattern over nested folders (files of the
#   same name get distinct counterexample files), and the setup errors
#   (a pattern matching nothing, no model, a bad timeout: exit 2);
# - action-check.sh with a stand-in binary: the exact command line, extra
#   arguments, and the exit status when verdicts mix (violated before error
#   before unknown, a crash counted as an error);
# - action.yml (needs python3 with PyYAML, else skipped with a message): a
#   composite action with the documented inputs and outputs, actions pinned
#   to commits, no input pasted into a script; its plan step refuses a
#   version that is not a full commit id; its install step runs `cargo
#   install --git --rev --locked` (a stand-in cargo); its check step runs
#   scripts/action-check.sh with the inputs and fails the step on a
#   violated property; examples/ci/use-action.yml uses it pinned to a commit
#   with inputs it declares.
#
# Usage: scripts/test-action.sh
# The binary: $RELUVERIFY, else target/release/reluverify, else reluverify
# on the PATH. Exit 0 when every check passes, 1 on a failure, 2 without a
# binary.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if [ -n "${RELUVERIFY:-}" ]; then
    bin="$RELUVERIFY"
elif [ -x target/release/reluverify ]; then
    bin="$root/target/release/reluverify"
else
    bin="$(command -v reluverify || true)"
fi
if [ -z "$bin" ] || ! command -v "$bin" > /dev/null; then
    echo "error: no reluverify binary: build it (make build), put it on the PATH or set RELUVERIFY" >&2
    exit 2
fi
bin="$(realpath "$(command -v "$bin")")"
echo "binary: $bin ($("$bin" --version))"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
check="$root/scripts/action-check.sh"

fail() { echo "FAIL: $*" >&2; [ -f "$work/out.txt" ] && sed 's/^/  | /' "$work/out.txt" >&2; exit 1; }

# run NAME EXPECTED_EXIT [VAR=value...] -- [ARGS...]: action-check.sh from
# the repository root with a fresh $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY,
# output in $work/out.txt; fails unless it exits EXPECTED_EXIT.
run() {
    local name="$1" expected="$2" code=0
    shift 2
    local vars=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do vars+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    : > "$work/github_output"
    : > "$work/summary"
    env -u MODEL -u SPECS -u TIMEOUT -u OUT_DIR -u EXTRA_ARGS -u GITHUB_ACTIONS \
        RELUVERIFY="$bin" GITHUB_OUTPUT="$work/github_output" GITHUB_STEP_SUMMARY="$work/summary" \
        "${vars[@]}" bash "$check" "$@" > "$work/out.txt" 2>&1 || code=$?
    [ "$code" -eq "$expected" ] || fail "$name: exit $code, expected $expected"
}
has() { grep -qF -- "$1" "$work/out.txt" || fail "output lacks: $1"; }
lacks() { ! grep -qF -- "$1" "$work/out.txt" || fail "output has: $1"; }
outputs() {
    local want
    want="$(printf 'holds=%s\nviolated=%s\nunknown=%s\nerrors=%s' "$@")"
    [ "$(cat "$work/github_output")" = "$want" ] || fail "GITHUB_OUTPUT is '$(cat "$work/github_output")', expected '$want'"
}

# --- action-check.sh with the real binary ----------------------------------

out="$work/cex"
run "holds" 0 -- models/abs.onnx specs/abs_nonneg.json 10 "$out"
has "specs/abs_nonneg.json: holds"
lacks "::error"
lacks "::warning"
outputs 1 0 0 0
grep -qF '| `specs/abs_nonneg.json` | holds |' "$work/summary" || fail "summary: $(cat "$work/summary")"
[ -z "$(ls -A "$out")" ] || fail "counterexample files for a holding property: $(ls "$out")"
echo "ok: abs.onnx, abs_nonneg.json holds: exit 0, holds=1 in GITHUB_OUTPUT, a summary row, no counterexample"

# Through the environment instead of arguments, as the action calls it.
run "violated" 1 MODEL=models/ACASXU_run2a_2_1_batch_2000.onnx SPECS=specs/acasxu_prop2.json OUT_DIR="$out" --
has "::error file=specs/acasxu_prop2.json::violated: counterexample in $out/acasxu_prop2.witness.json"
has "%0Aunsafe: WL <= COC"
outputs 0 1 0 0
grep -qF '| `specs/acasxu_prop2.json` | violated |' "$work/summary" || fail "summary: $(cat "$work/summary")"
w="$out/acasxu_prop2.witness.json"
[ -s "$w" ] || fail "no counterexample file $w"
if command -v python3 > /dev/null; then
    python3 - "$w" <<'PY' || fail "counterexample file $w is not a 5-input witness"
import json, sys
w = json.load(open(sys.argv[1]))
assert len(w["input"]) == 5 and len(w["output"]) == 5 and w["unsafe"], w
PY
else
    grep -q '"input"' "$w" || fail "counterexample file $w has no input"
fi
echo "ok: ACASXU 2_1, acasxu_prop2.json violated: exit 1, an error annotation on the file, $(basename "$w")"

# Proving it takes about 0.25 s; a millisecond is not enough.
run "unknown" 3 -- models/mnist-net_256x2.onnx specs/mnistfc_prop_0_0.03.vnnlib 0.001 "$out"
has "::warning file=specs/mnistfc_prop_0_0.03.vnnlib::unknown: time limit reached"
lacks "::error"
outputs 0 0 1 0
echo "ok: a property not proved within the timeout is unknown: exit 3, a warning annotation"

# A globstar pattern over nested folders; the same file name twice.
mkdir -p "$work/tree/a" "$work/tree/b/c"
cp specs/abs_nonneg.json "$work/tree/a/"
printf '{"inputs": [{"lower": -1, "upper": 1}], "unsafe": "y0 >= 0.9"}' > "$work/tree/a/abs_09.json"
cp "$work/tree/a/abs_09.json" "$work/tree/b/c/abs_09.json"
out2="$work/cex2"
run "globstar" 1 -- models/abs.onnx "$work/tree/**/*.json" 10 "$out2"
outputs 1 2 0 0
has "::error file=$work/tree/a/abs_09.json::violated"
has "::error file=$work/tree/b/c/abs_09.json::violated"
[ -s "$out2/abs_09.witness.json" ] && [ -s "$out2/abs_09-2.witness.json" ] \
    || fail "expected abs_09.witness.json and abs_09-2.witness.json, got: $(ls "$out2")"
echo "ok: '**/*.json' checks nested folders; two abs_09.json get abs_09 and abs_09-2 counterexamples"

run "empty glob" 2 -- models/abs.onnx 'specs/**/*.nothing' 10 "$out"
has "::error::specs pattern 'specs/**/*.nothing' matches no file"
run "one empty pattern of two" 2 -- models/abs.onnx 'specs/abs_nonneg.json specs/typo.json' 10 "$out"
has "pattern 'specs/typo.json' matches no file"
[ ! -s "$work/github_output" ] || fail "counts written although nothing was checked"
run "no specs" 2 MODEL=models/abs.onnx --
has "::error::no properties"
run "missing model" 2 -- models/missing.onnx specs/abs_nonneg.json 10 "$out"
has "::error::model 'models/missing.onnx' not found"
run "bad timeout" 2 -- models/abs.onnx specs/abs_nonneg.json 0 "$out"
has "::error::timeout must be a positive number of seconds, got '0'"
run "no binary" 2 RELUVERIFY="$work/nowhere/reluverify" -- models/abs.onnx specs/abs_nonneg.json
has "::error::reluverify not found"
echo "ok: a pattern matching nothing, no property, no model, a bad timeout, no binary: exit 2 with a clear error"

# --- action-check.sh with a stand-in binary ---------------------------------

# The stand-in answers with the exit code the spec file names, records its
# arguments and writes a witness when it answers violated.
mkdir -p "$work/stub" "$work/mix"
cat > "$work/stub/reluverify" <<EOF
#!/usr/bin/env bash
[ "\$1" = --version ] && { echo "stand-in"; exit 0; }
echo "\$*" >> "$work/stub.log"
spec="\$3"; code="\$(cat "\$spec")"
while [ \$# -gt 0 ]; do [ "\$1" = --witness ] && witness="\$2"; shift; done
case "\$code" in
  0) echo "holds" ;;
  1) echo "violated"; echo "  unsafe: y0 <= 0 (met by 1)"; echo '{}' > "\$witness" ;;
  2) echo "error: \$spec: bad property" >&2 ;;
  3) echo "unknown: time limit reached" ;;
  *) echo "thread 'main' panicked" >&2 ;;
esac
exit "\$code"
EOF
chmod +x "$work/stub/reluverify"
for c in 0 1 2 3 101; do echo "$c" > "$work/mix/p$c.json"; done
mix() { # mix EXPECTED SPEC...: the stand-in on these specs of $work/mix
    local expected="$1" specs=""
    shift
    for s in "$@"; do specs="$specs $work/mix/$s.json"; done
    : > "$work/stub.log"
    run "mix $*" "$expected" RELUVERIFY="$work/stub/reluverify" -- models/abs.onnx "$specs" 5 "$work/cex3"
}
: > "$work/stub.log"
run "command line" 0 RELUVERIFY="$work/stub/reluverify" EXTRA_ARGS="--threads 2
  --strategy milp" -- models/abs.onnx "$work/mix/p0.json" 7 "$work/cex3" -- --json
want="check models/abs.onnx $work/mix/p0.json --timeout 7 --witness $work/cex3/p0.witness.json --threads 2 --strategy milp --json"
[ "$(cat "$work/stub.log")" = "$want" ] || fail "command line: '$(cat "$work/stub.log")', expected '$want'"
echo "ok: the command line is: reluverify $want"

mix 1 p0 p1 p2 p3 p101; outputs 1 1 1 2
has "::error file=$work/mix/p101.json::reluverify could not check it (exit 101): thread 'main' panicked"
has "::error file=$work/mix/p2.json::reluverify could not check it (exit 2): error: $work/mix/p2.json: bad property"
has "::warning file=$work/mix/p3.json::unknown: time limit reached"
[ "$(wc -l < "$work/stub.log")" -eq 5 ] || fail "not every property was checked after a violation"
mix 2 p0 p3 p2; outputs 1 0 1 1
mix 2 p101 p0; outputs 1 0 0 1
mix 3 p3 p0; outputs 1 0 1 0
mix 0 p0; outputs 1 0 0 0
echo "ok: exit 1 if any violated, else 2 if any error (a crash too), else 3 if any unknown, else 0; every property is checked"

# --- action.yml --------------------------------------------------------------

if ! python3 -c 'import yaml' 2> /dev/null; then
    echo "skipped: action.yml and examples/ci/use-action.yml not checked (needs python3 with PyYAML)"
    echo "all action-check.sh tests passed"
    exit 0
fi

# Each step the test runs, as env.sh + run.sh with the expressions replaced
# by the values GitHub would give them (inputs of the test, a runner temp
# folder, the plan step's outputs).
mkdir -p "$work/yml" "$work/runner_temp" "$work/home"
python3 - "$root/action.yml" "$root/examples/ci/use-action.yml" "$work" <<'PY'
import re, shlex, sys, yaml
action_file, example_file, work = sys.argv[1:]
action = yaml.safe_load(open(action_file))

def die(msg):
    sys.exit(f"action.yml: {msg}")

if action.get("runs", {}).get("using") != "composite":
    die("not a composite action")
inputs = action["inputs"]
for name in ["model", "specs", "timeout", "version", "args"]:
    if name not in inputs:
        die(f"no input {name!r}")
for name in ["model", "specs"]:
    if not inputs[name].get("required"):
        die(f"input {name!r} is not required")
if str(inputs["timeout"].get("default")) != "60":
    die("the timeout input's default is not 60")
if inputs["version"].get("default", "") != "":
    die("the version input's default is not empty")

steps = action["runs"]["steps"]
by_id = {s["id"]: s for s in steps if "id" in s}
for name in ["holds", "violated", "unknown", "errors"]:
    got = action.get("outputs", {}).get(name, {}).get("value", "")
    if got.replace(" ", "") != "${{steps.check.outputs.%s}}" % name:
        die(f"output {name!r} is {got!r}, not the check step's")
for s in steps:
    if "uses" in s and not re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", s["uses"]):
        die(f"action not pinned to a commit: {s['uses']}")
    if "run" in s and "${{" in s["run"]:
        die(f"step {s.get('name')!r} pastes an expression into its script (pass it through env)")
    if "run" in s and s.get("shell") != "bash":
        die(f"step {s.get('name')!r} has no shell: bash")
uses = {s["uses"].split("@")[0]: s for s in steps if "uses" in s}
if "actions/cache" not in uses or "actions/upload-artifact" not in uses:
    die("no actions/cache or actions/upload-artifact step")

check = by_id.get("check") or die("no step with id: check")
if "scripts/action-check.sh" not in check["run"] or "$GITHUB_ACTION_PATH" not in check["run"]:
    die("the check step does not run $GITHUB_ACTION_PATH/scripts/action-check.sh")
env_of = {k: str(v).replace(" ", "") for k, v in check["env"].items()}
for var, inp in [("MODEL", "model"), ("SPECS", "specs"), ("TIMEOUT", "timeout"), ("EXTRA_ARGS", "args")]:
    if env_of.get(var) != "${{inputs.%s}}" % inp:
        die(f"the check step does not pass input {inp!r} as {var} (got {env_of.get(var)!r})")
upload = uses["actions/upload-artifact"]
if str(upload.get("if", "")).replace(" ", "") != "always()":
    die("the upload step does not run always()")
if not str(upload["with"]["path"]).startswith(check["env"]["OUT_DIR"]):
    die("the upload step does not upload the check step's OUT_DIR")
install = next((s for s in steps if "cargo install --git" in s.get("run", "")), None) or die("no cargo install --git step")
if not re.search(r'--rev "\$VERSION" --locked', install["run"]) or "--root" not in install["run"]:
    die("the install step does not run cargo install --git --rev $VERSION --locked --root")

# The example workflow: this action pinned to a commit, with inputs it declares.
example = yaml.safe_load(open(example_file))
users = [s for job in example["jobs"].values() for s in job["steps"]
         if re.fullmatch(r"[\w.-]+/reluverify@[0-9a-f]{40}", s.get("uses", ""))]
if not users:
    sys.exit("use-action.yml: no step uses OWNER/reluverify@<full commit id>")
for s in users:
    unknown = set(s.get("with", {})) - set(inputs)
    if unknown or not {"model", "specs"} <= set(s.get("with", {})):
        sys.exit(f"use-action.yml: inputs {sorted(s.get('with', {}))} against {sorted(inputs)}")

test_inputs = {
    "model": "models/ACASXU_run2a_2_1_batch_2000.onnx",
    "specs": "specs/acasxu_prop2.json\nspecs/acasxu_prop1.json",
    "timeout": "60",
    "args": "--threads 1",
    "version": "",
    "repository": "",
    "rust-toolchain": "1.95.0",
}
values = {
    "runner.temp": f"{work}/runner_temp",
    "github.server_url": "https://github.com",
    "github.action_repository": "",
    "steps.plan.outputs.root": f"{work}/home/.reluverify-action",
    "steps.plan.outputs.url": "https://example.invalid/reluverify",
    "steps.cache.outputs.cache-hit": "",
}
values.update({f"inputs.{k}": v for k, v in test_inputs.items()})

def subst(text):
    def one(m):
        expr = m.group(1).strip()
        if expr not in values:
            die(f"the test knows no value for ${{{{ {expr} }}}}")
        return values[expr]
    return re.sub(r"\$\{\{(.*?)\}\}", one, str(text))

for step, file in [(by_id.get("plan"), "plan"), (install, "install"), (check, "check")]:
    if step is None:
        die(f"no {file} step")
    with open(f"{work}/yml/{file}.env", "w") as f:
        for k, v in step.get("env", {}).items():
            f.write(f"export {k}={shlex.quote(subst(v))}\n")
    open(f"{work}/yml/{file}.sh", "w").write(step["run"])
PY
echo "ok: action.yml is a composite action with inputs model, specs, timeout (60), version, args and outputs holds, violated, unknown, errors; actions pinned; inputs reach scripts through env"
echo "ok: examples/ci/use-action.yml uses OWNER/reluverify@<full commit id> with inputs the action declares"

# step NAME [VAR=value...]: run action.yml's step NAME as GitHub does
# (bash -e -o pipefail, the step's env, $GITHUB_ACTION_PATH, $GITHUB_OUTPUT)
# from the repository root; its output in $work/out.txt.
step() {
    local name="$1"
    shift
    : > "$work/github_output"
    : > "$work/summary"
    (
        . "$work/yml/$name.env"
        export HOME="$work/home" GITHUB_ACTION_PATH="$root" GITHUB_OUTPUT="$work/github_output" \
            GITHUB_STEP_SUMMARY="$work/summary" GITHUB_PATH="$work/github_path" "$@"
        bash --noprofile --norc -e -o pipefail "$work/yml/$name.sh"
    ) > "$work/out.txt" 2>&1
}

if step plan VERSION=v1.0; then fail "plan step accepted version v1.0"; fi
has "::error::the version input must be a full commit id"
rev=0123456789abcdef0123456789abcdef01234567
if step plan VERSION=$rev; then fail "plan step accepted a version without a repository to install from"; fi
has "::error::cannot tell where to install"
step plan VERSION=$rev ACTION_REPOSITORY=someone/reluverify || fail "plan step with a pinned version"
grep -qx "url=https://github.com/someone/reluverify" "$work/github_output" || fail "plan url: $(cat "$work/github_output")"
grep -qx "key=git-$rev" "$work/github_output" || fail "plan key: $(cat "$work/github_output")"
step plan VERSION= || fail "plan step without a version"
grep -qE "^key=src-[0-9a-f]{16}$" "$work/github_output" || fail "plan key: $(cat "$work/github_output")"
echo "ok: the plan step refuses a version that is not a full commit id, keys the cache on the commit or on the sources"

# The install step with a stand-in cargo that records its arguments and
# installs the real binary.
mkdir -p "$work/cargo"
cat > "$work/cargo/cargo" <<EOF
#!/usr/bin/env bash
echo "\$*" >> "$work/cargo.log"
mkdir -p "\$ROOT/bin" && ln -sf "$bin" "\$ROOT/bin/reluverify"
EOF
chmod +x "$work/cargo/cargo"
: > "$work/cargo.log"
step install PATH="$work/cargo:$PATH" VERSION=$rev || fail "install step"
r="$work/home/.reluverify-action"
want="install --git https://example.invalid/reluverify --rev $rev --locked --force --root $r --target-dir $r/target reluverify"
[ "$(cat "$work/cargo.log")" = "$want" ] || fail "cargo $(cat "$work/cargo.log"), expected cargo $want"
grep -qx "$r/bin" "$work/github_path" || fail "install folder not put on the PATH"
: > "$work/cargo.log"
step install PATH="$work/cargo:$PATH" VERSION= || fail "install step without a version"
grep -q "^install --path $root --locked" "$work/cargo.log" || fail "cargo $(cat "$work/cargo.log")"
: > "$work/cargo.log"
step install PATH="$work/cargo:$PATH" VERSION=$rev CACHE_HIT=true || fail "install step on a cache hit"
[ ! -s "$work/cargo.log" ] || fail "cargo ran on a cache hit: $(cat "$work/cargo.log")"
echo "ok: the install step runs cargo install --git --rev --locked (or --path for the action's own copy), nothing on a cache hit"

# The check step, with the binary the install step left.
code=0
step check || code=$?
[ "$code" -eq 1 ] || fail "check step on a violated property: exit $code, expected 1"
has "::error file=specs/acasxu_prop2.json::violated"
has "specs/acasxu_prop1.json: holds"
outputs 1 1 0 0
[ -s "$work/runner_temp/reluverify-counterexamples/acasxu_prop2.witness.json" ] || fail "no counterexample in the upload folder"
echo "ok: the check step runs scripts/action-check.sh with the inputs: exit 1, holds=1 violated=1, the counterexample in the uploaded folder"
echo "all action tests passed"
