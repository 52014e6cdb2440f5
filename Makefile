# bake's tasks. `make demo` and `make test` are the two README commands.
GO        ?= go
BIN       := bin/bake
BASE      := localbase/debian:bookworm
# Integration packages are parallel but each is heavy (docker builds, apt):
# two at once on two cores. -count=1: a test that skipped once must not
# be reported as passed from Go's cache.
TESTFLAGS ?= -p 2 -timeout 45m -count=1

.PHONY: all build vet test test-deps test-flaky fuzz base-image demo bench clean

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

# make test prepares what the tests need, or fails listing what is
# missing: no test may pass by skipping (in CI, CI=true, a missing
# dependency fails the test; see internal/testenv.SkipOrFail).
test: vet test-deps
	$(GO) test $(TESTFLAGS) ./...

# The apt packages the tests run (.ci/run installs them), then the base
# image, the sim's image, sshd and the apt cache (each script is a no-op
# when done).
TEST_PKGS := debootstrap docker-registry openssh-server openssh-client awscli python3-botocore packer ansible git
test-deps:
	@missing=""; for p in $(TEST_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "make test: missing apt packages:$$missing" >&2; \
		echo "install them with: apt-get install -y --no-install-recommends$$missing (or run .ci/run)" >&2; \
		exit 1; \
	fi
	@docker info >/dev/null 2>&1 || { echo "make test: the docker engine is not reachable: start dockerd (or run .ci/run)" >&2; exit 1; }
	bash hack/base-image.sh $(BASE)
	@set -e; for s in hack/setup-*.sh; do echo "-- $$s"; bash "$$s"; done

# The tests that were racy, many times over, to show they are not.
FLAKY ?= ./cmd/bake:^TestVerifyCommandExits$$
test-flaky:
	@set -e; for t in $(FLAKY); do \
		echo "== $$t x20"; \
		$(GO) test -count=20 -timeout 30m -run "$${t##*:}" $${t%%:*}; \
	done

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
