# Palisade build. `make` builds bin/runsc; `make demo` runs something in the
# sandbox; `make test` runs every test tier that this machine supports.
# Targets that compile cgo (libseccomp) or C test programs depend on `deps`,
# which installs what is missing from Debian, so a fresh machine needs no
# manual step.

GO       ?= go
RUNSC    := bin/runsc
PKGS     := ./...
# Debian packages the build and the tests need.
DEB_PKGS := gcc libc6-dev libseccomp-dev pkg-config make strace busybox-static python3 git tar gzip findutils util-linux bash
FUZZTIME ?= 10s

.PHONY: all build deps test unit-test fuzz lint bench demo clean

all: build

build: deps
	$(GO) build -o $(RUNSC) ./runsc

# deps installs missing Debian packages (needs root, as everything that
# uses ptrace and namespaces here does).
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# test runs the unit, integration, conformance and end-to-end tests, then a
# short fuzzing pass over every fuzz target.
test: build
	$(GO) test -count=1 -timeout 20m $(PKGS)
	$(MAKE) --no-print-directory fuzz

# fuzz runs each Go fuzz target for FUZZTIME (make fuzz FUZZTIME=10m for longer).
# A run that fails only with "context deadline exceeded" and no failing
# input is Go 1.26's fuzz coordinator racing its own deadline under load
# (go.dev/issue/75804, fixed in Go 1.27): it is retried once. A written
# crasher or panic fails at once.
fuzz: deps
	@set -e; log=$$(mktemp); trap 'rm -f "$$log"' EXIT; \
	for pkg in $$($(GO) list ./...); do \
	  dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
	  for t in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/func //'); do \
	    echo "fuzz $$pkg $$t ($(FUZZTIME))"; \
	    for try in 1 2; do \
	      if $(GO) test -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) $$pkg >"$$log" 2>&1; then break; fi; \
	      if [ $$try = 1 ] && grep -q 'context deadline exceeded' "$$log" && ! grep -qE 'Failing input|panic:' "$$log"; then \
	        echo "  Go's fuzz coordinator missed its own -fuzztime deadline (go.dev/issue/75804, no input failed): retrying once"; continue; \
	      fi; \
	      cat "$$log"; exit 1; \
	    done; \
	  done; \
	done

lint: deps
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)
	@if [ -x ../shared/tools/layercheck ]; then ../shared/tools/layercheck; fi

bench: build
	$(GO) test -count=1 -run='^$$' -bench=. -benchtime=2s ./platform/... ./p9/... ./gofer/...
	$(GO) run ./test/bench

demo: build
	@./test/demo.sh

clean:
	rm -rf bin test/syscalls/build test/e2e/build test/bench/build
