#!/usr/bin/env bash
# Check every property a glob matches against one model: the gate of the
# reusable action (action.yml), as a script that runs anywhere.
#
# Usage: scripts/action-check.sh [MODEL [SPECS [TIMEOUT [OUT_DIR]]]] [-- EXTRA_ARGS...]
#
# Each value comes from the argument, else from the environment variable of
# the same name:
#   MODEL       the network (.onnx or .nnet, optionally .gz)
#   SPECS       glob patterns of property files (.json, .vnnlib, optionally
#               .gz), separated by whitespace or newlines, expanded by bash
#               from the current folder with globstar (`**` matches any
#               depth), e.g. 'specs/**/*.json specs/**/*.vnnlib'. Folders
#               are skipped; a pattern matching no file is an error.
#   TIMEOUT     seconds per property (default 60)
#   OUT_DIR     folder for counterexamples (default reluverify-counterexamples)
#   EXTRA_ARGS  more `reluverify check` arguments, split on whitespace
#               (e.g. '--threads 2'); arguments after `--` are added too
#   RELUVERIFY  the binary (default: reluverify on the PATH)
#
# For each property it runs
#   reluverify check MODEL SPEC --timeout TIMEOUT --witness OUT_DIR/NAME.witness.json EXTRA_ARGS
# where NAME is the file name without .json/.vnnlib/.gz (a name already
# used gets -2, -3, ...). The counterexample file exists only when the
# property is violated. Each property that does not hold gets a GitHub
# annotation naming its file: `::error` when violated or not checkable,
# `::warning` when unknown (the gate still fails).
#
# With GITHUB_OUTPUT set, it appends the counts `holds`, `violated`,
# `unknown` and `errors`; with GITHUB_STEP_SUMMARY set, a table of the
# verdicts.
#
# Exit status: 0 when every property holds; otherwise the worst verdict, in
# this order: 1 if any property is violated (a counterexample beats
# everything else), else 2 if any could not be checked (bad model, property
# or options, or reluverify crashed), else 3 if any is unknown (time limit).
# Problems found before any check (no binary, no model, a bad timeout, a
# pattern matching nothing) exit 2 at once.
set -uo pipefail

usage() { sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//;p}' "$0"; }

pos=()
cli_extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --) shift; cli_extra=("$@"); break ;;
        -h|--help) usage; exit 0 ;;
        *) pos+=("$1"); shift ;;
    esac
done
if [ "${#pos[@]}" -gt 4 ]; then
    echo "error: too many arguments (extra reluverify arguments go after --)" >&2
    usage >&2
    exit 2
fi
MODEL="${pos[0]:-${MODEL:-}}"
SPECS="${pos[1]:-${SPECS:-}}"
TIMEOUT="${pos[2]:-${TIMEOUT:-}}"
TIMEOUT="${TIMEOUT:-60}"
OUT_DIR="${pos[3]:-${OUT_DIR:-}}"
OUT_DIR="${OUT_DIR:-reluverify-counterexamples}"
read -r -d '' -a extra <<< "${EXTRA_ARGS:-}"
extra+=("${cli_extra[@]}")
bin="${RELUVERIFY:-reluverify}"

# Workflow command escaping (GitHub's rules): message text, then property values.
esc_data() { local s="${1//'%'/%25}"; s="${s//$'\r'/%0D}"; printf '%s' "${s//$'\n'/%0A}"; }
esc_prop() { local s; s="$(esc_data "$1")"; s="${s//:/%3A}"; printf '%s' "${s//,/%2C}"; }
# A setup problem: an annotation, exit 2.
die() { echo "::error::$(esc_data "$1")"; exit 2; }

[ -n "$MODEL" ] || die "no model: set MODEL (the action's model input) or pass it as the first argument"
[ -n "${SPECS//[[:space:]]/}" ] || die "no properties: set SPECS (the action's specs input) to a glob such as 'specs/**/*.json'"
command -v "$bin" > /dev/null 2>&1 || die "reluverify not found ('$bin'); put it on the PATH or set RELUVERIFY"
[ -f "$MODEL" ] || die "model '$MODEL' not found (looked from $PWD)"
if ! [[ "$TIMEOUT" =~ ^([0-9]+\.?[0-9]*|\.[0-9]+)$ ]] || ! awk -v t="$TIMEOUT" 'BEGIN { exit !(t > 0) }'; then
    die "timeout must be a positive number of seconds, got '$TIMEOUT'"
fi

# Expand the patterns: globstar for `**`, nullglob so that a pattern matching
# nothing expands to nothing; regular files only, each once, in order.
shopt -s globstar nullglob
specs=()
declare -A seen=()
read -r -d '' -a patterns <<< "$SPECS"
for pattern in "${patterns[@]}"; do
    found=0
    # shellcheck disable=SC2206  # the pattern is meant to be globbed
    matches=($pattern)
    for f in "${matches[@]}"; do
        [ -f "$f" ] || continue
        found=1
        if [ -z "${seen[$f]:-}" ]; then
            seen[$f]=1
            specs+=("$f")
        fi
    done
    [ "$found" -eq 1 ] || die "specs pattern '$pattern' matches no file (expanded from $PWD with globstar)"
done
shopt -u nullglob

mkdir -p "$OUT_DIR" || die "cannot create the counterexample folder '$OUT_DIR'"
echo "reluverify: $("$bin" --version 2>&1 | head -1)"
echo "model: $MODEL; properties: ${#specs[@]}; timeout: ${TIMEOUT}s per property"

holds=0 violated=0 unknown=0 errors=0
rows=()
declare -A used=()
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
group() { [ "${GITHUB_ACTIONS:-}" = true ] && echo "::$1::${2:-}"; return 0; }

for spec in "${specs[@]}"; do
    name="$(basename "$spec")"
    name="${name%.gz}"
    name="${name%.json}"
    name="${name%.vnnlib}"
    candidate="$name" k=1
    while [ -n "${used[$candidate]:-}" ]; do k=$((k + 1)); candidate="$name-$k"; done
    used[$candidate]=1
    witness="$OUT_DIR/$candidate.witness.json"

    group group "$spec"
    start="${EPOCHREALTIME:-$(date +%s.%N)}"
    code=0
    "$bin" check "$MODEL" "$spec" --timeout "$TIMEOUT" --witness "$witness" "${extra[@]}" > "$log" 2>&1 || code=$?
    end="${EPOCHREALTIME:-$(date +%s.%N)}"
    seconds="$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')"
    cat "$log"
    group endgroup

    file="$(esc_prop "$spec")"
    case "$code" in
        0)
            holds=$((holds + 1)) verdict=holds cex=""
            echo "$spec: holds (${seconds} s)"
            ;;
        1)
            violated=$((violated + 1)) verdict=violated cex="$witness"
            detail="$(grep -E '^ *(input|output|unsafe):' "$log" | sed 's/^ *//')"
            echo "::error file=$file::$(esc_data "violated: counterexample in $witness"$'\n'"$detail")"
            ;;
        3)
            unknown=$((unknown + 1)) verdict=unknown cex=""
            reason="$(sed -n 's/^unknown: *//p' "$log" | head -1)"
            echo "::warning file=$file::$(esc_data "unknown: ${reason:-no answer} (timeout ${TIMEOUT}s); not proved, so the gate fails")"
            ;;
        *)
            errors=$((errors + 1)) verdict="error (exit $code)" cex=""
            message="$(grep -E '^error' "$log" | head -5)"
            echo "::error file=$file::$(esc_data "reluverify could not check it (exit $code): ${message:-$(tail -3 "$log")}")"
            ;;
    esac
    rows+=("| \`${spec//|/\\|}\` | $verdict | $seconds | ${cex:+\`${cex//|/\\|}\`} |")
done

total=${#specs[@]}
echo "reluverify: of $total properties, holds $holds, violated $violated, unknown $unknown, errors $errors"

if [ -n "${GITHUB_OUTPUT:-}" ]; then
    printf 'holds=%s\nviolated=%s\nunknown=%s\nerrors=%s\n' "$holds" "$violated" "$unknown" "$errors" >> "$GITHUB_OUTPUT"
fi
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    {
        echo "### reluverify: $holds of $total properties hold"
        echo
        echo "Model \`$MODEL\`, timeout ${TIMEOUT}s per property: $violated violated, $unknown unknown, $errors errors."
        echo
        echo "| property | verdict | seconds | counterexample |"
        echo "|---|---|---|---|"
        printf '%s\n' "${rows[@]}"
    } >> "$GITHUB_STEP_SUMMARY"
fi

if [ "$violated" -gt 0 ]; then exit 1; fi
if [ "$errors" -gt 0 ]; then exit 2; fi
if [ "$unknown" -gt 0 ]; then exit 3; fi
exit 0
