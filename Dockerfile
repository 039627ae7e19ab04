# reluverify in a container: `docker build -t reluverify .`, then
#   docker run --rm -v "$PWD:/work" reluverify check model.onnx property.json
# (the image's working folder is /work). See "Docker" in README.md.

# Build stage: HiGHS is compiled from source by the highs crate, which needs
# cmake (and make), a C++ compiler and libclang (for bindgen).
FROM rust:1.95-slim-bookworm AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake make g++ libclang-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src

# The dependencies first, against stand-in sources (one per target of
# Cargo.toml), so that a change to the sources alone reuses this layer and
# does not compile HiGHS again. If it fails, the next step builds everything.
# (python/ is a workspace member: its manifest, with a stand-in too.)
COPY Cargo.toml Cargo.lock build.rs ./
COPY python/Cargo.toml python/
RUN mkdir -p src examples python/src \
 && echo 'fn main() {}' > src/main.rs && touch src/lib.rs python/src/lib.rs \
 && for e in $(sed -n 's/^name *= *"\(.*\)"/\1/p' Cargo.toml | tail -n +2); do echo 'fn main() {}' > "examples/$e.rs"; done \
 && (cargo build --release --locked || echo "dependency pre-build failed; the full build compiles everything") \
 && rm -rf src examples python/src

COPY . .
# The sources copied keep their own times, older than the stand-ins: touch
# the crate roots so that cargo rebuilds the crate.
RUN touch build.rs src/lib.rs src/main.rs \
 && cargo build --release --locked \
 && strip --strip-debug -o /reluverify target/release/reluverify

# Run stage: the binary alone. It links libstdc++ (HiGHS is C++), which
# debian:bookworm-slim already has; `--version` fails the build if a library
# is missing.
FROM debian:bookworm-slim
COPY --from=builder /reluverify /usr/local/bin/reluverify
RUN reluverify --version
WORKDIR /work
ENTRYPOINT ["reluverify"]
CMD ["--help"]
