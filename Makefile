# wfbench — two commands do all set-up on a fresh Debian machine:
#   make run    installs what is missing, builds, runs the default job
#   make test   the same set-up, then the whole test suite
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
BIN := bin/wfbench
RUN_ARGS ?= --rtt 100ms --batch 100 --jobs 1000

.PHONY: all setup build run test test-short bench vet fmt clean

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

test: setup vet
	$(GO) test -count=1 -timeout 8m ./...

test-short: setup
	$(GO) test -count=1 -short ./...

bench: build
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 20m ./...

clean:
	rm -rf bin
