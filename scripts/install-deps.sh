#!/usr/bin/env bash
# Install what building reluverify needs on Debian/Ubuntu, if missing:
# highs-sys compiles HiGHS from source (cmake, a C++ compiler) and runs
# bindgen (libclang); the Python package's tests need python3 with venv.
# Cargo itself must already be installed (rustup).
set -euo pipefail

missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v c++ >/dev/null 2>&1 || missing+=(g++)
# bindgen loads libclang.so or libclang-<version>.so; libclang-cpp.so (which
# other packages pull in) is a different library and does not count.
have_libclang=no
for f in /usr/lib/llvm-*/lib/libclang*.so* /usr/lib/*-linux-gnu/libclang*.so*; do
    case "$(basename "$f")" in
        libclang.so* | libclang-[0-9]*.so*) have_libclang=yes ;;
    esac
done
[ "$have_libclang" = yes ] || missing+=(libclang-dev)
# The Python package's tests (scripts/test-python.sh) build it in a
# virtual environment: python3 with its venv module (and ensurepip).
if ! command -v python3 >/dev/null 2>&1; then
    missing+=(python3 python3-venv)
elif ! python3 -c "import venv, ensurepip" >/dev/null 2>&1; then
    missing+=(python3-venv)
fi
command -v cargo >/dev/null 2>&1 || {
    echo "error: cargo not found. Install Rust with rustup (https://rustup.rs) and re-run." >&2
    exit 2
}
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing build dependencies: ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
    apt_get=(apt-get)
elif command -v sudo >/dev/null 2>&1; then
    apt_get=(sudo apt-get)
else
    echo "error: missing ${missing[*]} and not running as root." >&2
    echo "Ask an administrator to run: apt-get install -y ${missing[*]}" >&2
    exit 2
fi
export DEBIAN_FRONTEND=noninteractive
"${apt_get[@]}" update -qq
"${apt_get[@]}" install -y -qq "${missing[@]}"
