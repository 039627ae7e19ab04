#!/usr/bin/env bash
# Install what building reluverify needs on Debian/Ubuntu, if missing:
# highs-sys compiles HiGHS from source (cmake, a C++ compiler) and runs
# bindgen (libclang). Cargo itself must already be installed (rustup).
set -euo pipefail

missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v c++ >/dev/null 2>&1 || missing+=(g++)
if ! ls /usr/lib/llvm-*/lib/libclang*.so* /usr/lib/x86_64-linux-gnu/libclang*.so* >/dev/null 2>&1; then
    missing+=(libclang-dev)
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
