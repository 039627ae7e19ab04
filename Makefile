# Quick start: `make demo` and `make test`. Both install missing build
# dependencies first (scripts/install-deps.sh).

BIN := target/release/reluverify
# Benchmark folders (VNN-COMP 2021 layout); override e.g. `make bench BENCH=/path`.
BENCH ?= ../shared/benchmarks/acasxu
BENCH_MNIST ?= ../shared/benchmarks/mnistfc

.PHONY: deps demo test build

deps:
	@bash scripts/install-deps.sh

build: deps
	cargo build --release

# Check shipped models and properties: one that holds, one that is violated.
demo: build
	$(BIN) check models/ACASXU_run2a_2_1_batch_2000.onnx specs/acasxu_prop2.json --witness target/demo-witness.json; \
	  test $$? -eq 1
	$(BIN) check models/abs.onnx specs/abs_nonneg.json

test: deps
	cargo test
	bash scripts/test-python.sh

# Long ground-truth run: SOAK_CASES random networks and properties of every
# shape compared with exhaustive enumeration (release build; about 30 cases
# a second on one core). `cargo test` runs the same test with 300 cases.
# A failure prints its seed; rerun it alone with SOAK_SEED=<seed> SOAK_CASES=1.
SOAK_CASES ?= 20000
SOAK_SEED ?= 1000000
.PHONY: soak
soak: deps
	RELUVERIFY_SOAK_CASES=$(SOAK_CASES) RELUVERIFY_SOAK_SEED=$(SOAK_SEED) \
	  cargo test --release --lib differential_against_enumeration -- --nocapture

TIMEOUT_CAP ?= 60
THREADS ?= $(shell nproc 2>/dev/null || echo 1)

.PHONY: bench bench-mnist bench-conv
# Every ACAS Xu instance, compared with the answers of VNN-COMP 2021.
bench: build
	@mkdir -p target/bench
	$(BIN) bench $(BENCH)/acasxu_instances.csv --expected $(BENCH)/expected.csv \
	  --timeout-cap $(TIMEOUT_CAP) --threads $(THREADS) --out target/bench/acasxu.csv

# Every MNIST-FC instance, likewise.
bench-mnist: build
	@mkdir -p target/bench
	$(BIN) bench $(BENCH_MNIST)/mnistfc_instances.csv --expected $(BENCH_MNIST)/expected.csv \
	  --timeout-cap $(TIMEOUT_CAP) --threads $(THREADS) --out target/bench/mnistfc.csv

# The convolutional sets of VNN-COMP 2021 (Conv, pooling, residual blocks).
BENCH_ROOT ?= ../shared/benchmarks
bench-conv: build
	@mkdir -p target/bench
	for set in verivital marabou-cifar10 cifar10_resnet; do \
	  $(BIN) bench $(BENCH_ROOT)/$$set/$${set}_instances.csv --expected $(BENCH_ROOT)/$$set/expected.csv \
	    --timeout-cap $(TIMEOUT_CAP) --threads $(THREADS) --out target/bench/$$set.csv || exit $$?; \
	done

# The forward pass of every distinct model of the five benchmark sets against
# onnxruntime (float32) on FORWARD_SAMPLES random inputs each, drawn from the
# input box of the model's first instance (scripts/onnx-reference.py; its
# TOLERANCE says what is accepted). Builds the Python package into
# target/python-venv and installs onnxruntime there.
FORWARD_SETS := acasxu mnistfc verivital marabou-cifar10 cifar10_resnet
FORWARD_SAMPLES ?= 16
.PHONY: check-forward
check-forward: deps
	bash scripts/python-venv.sh "onnxruntime>=1.16"
	target/python-venv/bin/python scripts/onnx-reference.py -k $(FORWARD_SAMPLES) \
	  $(foreach set,$(FORWARD_SETS),--instances $(BENCH_ROOT)/$(set)/$(set)_instances.csv)
