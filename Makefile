# bake's tasks. `make demo` and `make test` are the two README commands.
GO        ?= go
BIN       := bin/bake
BASE      := localbase/debian:bookworm
# Integration packages are parallel but each is heavy (docker builds, apt):
# two at once on two cores.
TESTFLAGS ?= -p 2 -timeout 45m

.PHONY: all build vet test fuzz base-image demo bench clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/bake

vet:
	$(GO) vet ./...

base-image:
	bash hack/base-image.sh $(BASE)

# Bakes testdata/hello on the local engine, runs it on a loopback port and
# fetches its page.
demo: build base-image
	bash hack/demo.sh $(BIN)

test: vet base-image
	$(GO) test $(TESTFLAGS) ./...

# A short fuzz run of the bake-file parser (go test -fuzz takes one target).
fuzz:
	$(GO) test ./bake/config -run '^$$' -fuzz FuzzLoad -fuzztime 30s

# Benchmarks against the peers, figures into docs/BENCHMARKS.md.
bench: build base-image
	bash bench/run.sh

clean:
	rm -rf bin
