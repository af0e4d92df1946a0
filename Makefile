# wfbench — two commands do all set-up on a fresh Debian machine:
#   make run    installs what is missing, builds, runs the default job
#   make test   the same set-up, then the whole test suite
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
BIN := bin/wfbench
RUN_ARGS ?= --rtt 100ms --batch 100 --jobs 1000

.PHONY: all setup build run test test-short bench bench-scale scenarios interop screenshot vet fmt fuzz clean

all: build

setup:
	@./scripts/setup.sh

build: setup
	$(GO) build -o $(BIN) ./cmd/wfbench

run: build
	./$(BIN) run $(RUN_ARGS)

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }

# -race covers the packages without the embedded Faktory in their own process (hosts runs it in child processes): Faktory v1.10.0's server
# itself has data races (Stats.Connections, closed) that the detector reports on any run.
test: setup vet
	$(GO) test -count=1 -timeout 8m ./...
	$(GO) test -count=1 -race ./netem ./reports ./recording ./hosts

test-short: setup
	$(GO) test -count=1 -short ./...

# Fuzzing, not part of test: each target for FUZZTIME (5 targets, about 3 minutes at the
# default), e.g. make fuzz FUZZTIME=2m. A crasher is written to the package's
# testdata/fuzz/<Target>/ and stops the target. Minimising each new input is capped at 5s,
# or a short FUZZTIME goes on minimising rather than fuzzing.
FUZZTIME ?= 30s
FUZZ_TARGETS := reports:FuzzReadResult reports:FuzzDecodeHistogram \
	reports:FuzzDecodeHistogramInflated scenarios:FuzzParseScenario system:FuzzAPIEnqueue
fuzz: setup
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "== $${t#*:} ./$${t%%:*} for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./$${t%%:*}; \
	done

# Run output goes under wfbench-results/ (git-ignored), as a run without -o writes it.
OUT_ROOT := wfbench-results

# The reproductions behind the README's figures: each run writes a full report under
# wfbench-results/bench-<timestamp>/; the Go benchmarks report link RTT accuracy.
BENCH_OUT := $(OUT_ROOT)/bench-$(shell date -u +%Y%m%d-%H%M%S)
bench: build
	$(GO) test -run '^$$' -bench . -benchtime 3x -timeout 20m ./...
	./$(BIN) run --rtt 100ms --batch 100 --jobs 1000 -o $(BENCH_OUT)/batch100
	./$(BIN) run --rtt 100ms --batch 1 --jobs 100 -o $(BENCH_OUT)/single-api
	./$(BIN) run --rtt 100ms --batch 1 --jobs 100 --target faktory -o $(BENCH_OUT)/single-faktory
	./$(BIN) run --rtt 1ms --batch 1 --jobs 1000 -o $(BENCH_OUT)/single-1ms
	./$(BIN) run --rtt 0 --batch 1 --jobs 1000 -o $(BENCH_OUT)/single-0ms
	./$(BIN) scenario run seed -o $(BENCH_OUT)/seed
	./$(BIN) scenario run stall -o $(BENCH_OUT)/stall
	./scripts/scale.sh ./$(BIN) $(BENCH_OUT)

# Only the scale benchmark (10k, 100k, 1M jobs: RSS flat, time linear; ~15 minutes here).
bench-scale: build
	./scripts/scale.sh ./$(BIN) $(BENCH_OUT)

# Every built-in scenario with its quick (CI-sized) override: about 3 minutes here. Each
# writes its report under wfbench-results/quick-<timestamp>/<name>/; the target fails if any
# expectation fails or any job is lost.
QUICK_OUT := $(OUT_ROOT)/quick-$(shell date -u +%Y%m%d-%H%M%S)
scenarios: build
	@set -e; for s in $$(./$(BIN) scenario list | awk '{print $$1}'); do \
		echo "== scenario $$s --quick"; \
		./$(BIN) scenario run $$s --quick --progress none -o $(QUICK_OUT)/$$s; \
	done

# Reads a fresh result's histograms back with HdrHistogram's Java implementation (an
# independent one; installs a JDK and libhdrhistogram-java when missing): the encoded
# histograms must give the same percentiles and Java's percentile distribution must be
# identical to each .hgrm file.
INTEROP_OUT := $(OUT_ROOT)/interop-$(shell date -u +%Y%m%d-%H%M%S)
interop: build
	./$(BIN) run --rtt 5ms --rate 200 --duration 3s --jobs 0 --batch 2 --progress none -o $(INTEROP_OUT)
	./scripts/hdr-interop.sh $(INTEROP_OUT)

# report.html of a seed --quick result, opened in headless Chromium without network.
SHOT_OUT := $(OUT_ROOT)/screenshot-$(shell date -u +%Y%m%d-%H%M%S)
# Exit 1 (an expectation failed on a busy machine) still wrote the report to look at.
screenshot: build
	./$(BIN) scenario run seed --quick --progress none -o $(SHOT_OUT) > /dev/null || [ $$? -eq 1 ]
	./scripts/html-screenshot.sh $(SHOT_OUT)

# Issue 13's bad-input transcript: `wfbench serve all` on 127.0.0.1:18080 gets 50-odd
# malformed requests, each must get a 4xx; /healthz must still answer 200 and the 7.9 KB
# gzip batch bomb leave the API's RSS within 64 MB.
.PHONY: malformed
malformed: build
	WFBENCH=$(BIN) ./scripts/malformed.sh

clean:
	rm -rf bin
