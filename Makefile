# exchange-connector — see README.md.
#   make demo   runs the product end to end on this machine
#   make test   runs every test against real Redis and PostgreSQL
GO       ?= go
BIN      := bin
PKGS     := ./...
SHELL    := /bin/bash

.PHONY: all build test lint demo services stop-services clean fuzz bench

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# services makes Redis and PostgreSQL available (the machine's own when they
# answer, private ones under var/ otherwise) and writes var/services.env.
services:
	@deploy/local/services.sh

stop-services:
	@deploy/local/stop.sh

# test runs all tests with the race detector. REQUIRE_INTEGRATION=1 turns a
# missing database or Redis into a failure instead of a skip.
# The tests that skip themselves under the race detector (too slow with it:
# the 32,000-message backfill) run once more without it.
NORACE_TESTS := TestBackfillAboveFilteredDeltaCap
test: services
	set -a && . var/services.env && set +a && \
	export TEST_POSTGRES_URL="$$POSTGRES_URL" TEST_REDIS_URL="$$REDIS_URL" REQUIRE_INTEGRATION=1 && \
	$(GO) test -race -count=1 $(PKGS) && \
	$(GO) test -count=1 -run '^($(NORACE_TESTS))$$' ./jobs/

lint:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	deploy/grafana/check.sh

# demo runs the product against the demo CRM in a fresh SQLite database
# under var/demo.
demo: build services
	@deploy/local/demo.sh

# bench runs the load suite (deploy/local/bench.sh: intake with wrk, pipeline,
# backfill and memory with the real binaries; it rewrites the "Load suite"
# section of docs/PERFORMANCE.md), then the Go benchmarks behind the rest of
# docs/PERFORMANCE.md, the CRM side's included (BENCH_GO=0 skips those).
BENCH_GO ?= 1
bench: build services
	deploy/local/bench.sh
	[ "$(BENCH_GO)" = 0 ] || { set -a && . var/services.env && set +a && TEST_POSTGRES_URL="$$POSTGRES_URL" TEST_REDIS_URL="$$REDIS_URL" REQUIRE_INTEGRATION=1 && \
	$(GO) test -run '^$$' -bench . -benchmem -cpu 1 ./internal/match/ ./internal/subject/ ./internal/address/ && \
	$(GO) test -run '^$$' -bench MatchWithSQL -benchtime 20000x ./internal/store/ && \
	$(GO) test -run '^$$' -bench DeltaRound -benchtime 3x ./internal/graph/ && \
	$(GO) test -run '^$$' -bench BackfillLargeFolder -benchtime 1x ./jobs/ && \
	$(GO) test -run '^$$' -bench Pipeline -benchtime 1x ./internal/app/ && \
	$(GO) test -run '^$$' -bench PutLarge -benchtime 3x ./internal/documents/ && \
	$(GO) test -run '^$$' -bench 'FeedEndpoint' -benchtime 20x ./internal/api/ && \
	$(GO) test -run '^$$' -bench 'PutContact' -benchtime 20000x ./internal/api/ && \
	$(GO) test -run '^$$' -bench 'ImportContacts' -benchtime 1x ./internal/store/ ./internal/api/ && \
	$(GO) test -run '^$$' -bench 'Rematch' -benchtime 1x ./jobs/ && \
	$(GO) test -run '^$$' -bench 'Delivery' -benchtime 5000x ./internal/crmhook/; }

# chaos runs the fault scenarios behind docs/RELIABILITY.md against private
# Redis and PostgreSQL servers it starts under var/chaos (never the machine's
# own); CHAOS_SCENARIOS="1 4" runs a selection. Exits non-zero on a failure.
.PHONY: chaos
chaos:
	@deploy/local/chaos.sh

# fuzz runs each fuzz test for a short while (FUZZTIME=30s by default).
FUZZTIME ?= 30s
fuzz:
	@for spec in $$(grep -rl --include='*_test.go' '^func Fuzz' internal | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$spec/*_test.go | cut -c6-); do \
	    echo "== $$spec $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) ./$$spec || exit 1; \
	  done; \
	done

clean:
	rm -rf $(BIN)
