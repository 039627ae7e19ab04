#!/usr/bin/env bash
# VNN-COMP convention: install_tool.sh v1
# Run once on a fresh machine, before prepare_instance.sh and run_instance.sh:
# installs the build dependencies with scripts/install-deps.sh (the installer
# `make demo` and `make test` use: cmake, a C++ compiler and libclang for the
# HiGHS solver, apt-get through sudo when not root), installs Rust with rustup
# when cargo is missing, and builds target/release/reluverify, the binary the
# other two scripts call.
set -euo pipefail
[ "$#" -eq 1 ] || { echo "usage: $0 v1" >&2; exit 1; }
[ "$1" = "v1" ] || { echo "unsupported interface version '$1' (expected v1)" >&2; exit 1; }
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

# A fresh competition instance has no Rust: install the stable toolchain for
# this user (rustup's own installer, non-interactive, minimal profile).
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
if ! command -v cargo >/dev/null 2>&1; then
    command -v curl >/dev/null 2>&1 || { echo "error: cargo and curl are both missing; install Rust from https://rustup.rs" >&2; exit 1; }
    echo "installing Rust (rustup, stable, minimal profile)" >&2
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    . "$HOME/.cargo/env"
fi

bash scripts/install-deps.sh
# --locked: the dependency versions of Cargo.lock, the ones the tests passed with.
cargo build --release --locked
"$root/target/release/reluverify" --version
