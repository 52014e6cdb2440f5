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

# A short run of every fuzz target (go test -fuzz takes one at a time):
# the parsers of bake files, recipes, roll services, registry challenges,
# console output, apt output, ssh command lines, Packer plugin handshakes
# and the sim's codecs.
FUZZTIME ?= 20s
FUZZ = ./bake/config:FuzzLoad ./recipes:FuzzParseFile ./roll:FuzzParse \
	./images:FuzzParseChallenge ./images:FuzzParseUpdates ./builders/amazon:FuzzParseFingerprints \
	./communicators/ssh:FuzzCommandLine ./sim/core:FuzzDecodeQuery ./sim/core:FuzzDecodeXML \
	./sim/route53:FuzzChangeRecord ./sim/route53/dnsserver:FuzzResolve ./sim/elbv2/proxy:FuzzParseMatcher \
	./provisioners/packer:FuzzParseHandshake ./sim/elbv2/proxy:FuzzGlobMatch
fuzz:
	@set -e; for t in $(FUZZ); do \
		echo "== fuzz $$t"; \
		ROLL_SKIP_SIM=1 $(GO) test $${t%%:*} -run '^$$' -fuzz "^$${t##*:}$$" -fuzztime $(FUZZTIME); \
	done

# Benchmarks against the peers, figures into docs/BENCHMARKS.md.
bench: build base-image
	bash bench/run.sh

clean:
	rm -rf bin
