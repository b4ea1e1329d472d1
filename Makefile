# The README's two set-up commands are `make demo` and `make test`. Both
# install what is missing (as root on Debian 12) and are quiet when all is there.

GO          ?= go
APT_PACKAGES = chromium libgtk-3-dev libwebkit2gtk-4.0-dev xvfb xauth x11-apps x11-utils python3
SUDO        := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test fuzz bench deps js-deps build

# Packages with native Go fuzz targets; make fuzz runs each target FUZZTIME.
FUZZ_PKGS = ./crypto ./policy ./core ./fuzz ./jsonrpc
FUZZTIME ?= 30s

# The packages of the message path, which make test also runs under the
# race detector, and the pinned staticcheck (fetched through the module
# proxy by go run; nothing is installed).
RACE_PKGS   = ./crypto ./core ./policy ./isolation ./jsonrpc ./codes ./fuzz ./internal/... ./cmd/isogate ./fleet ./tauri ./audit
STATICCHECK = honnef.co/go/tools/cmd/staticcheck@v0.8.2

# The URL line stays the first line of output: nothing is echoed before it.
demo: deps
	@$(GO) build -o bin/isogate ./cmd/isogate
	@./bin/isogate demo

test: deps js-deps
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	cd sandbox-js && node build.mjs --check && npm test --silent && npx tsc -p tsconfig.json
	xvfb-run -a -s "-screen 0 1280x800x24" env ISOGATE_REQUIRE_BROWSER=1 ISOGATE_REQUIRE_DISPLAY=1 \
	  $(GO) test -timeout 8m ./...
	$(GO) test -race -timeout 10m $(RACE_PKGS)

build:
	$(GO) build -o bin/isogate ./cmd/isogate

# P1-P7: each figure a ratio against a baseline measured in the same run
# (P4: 60 s of load; ISOGATE_BENCH_SECONDS changes it). Never a time limit.
# Under Xvfb: P2 runs in the WebKitGTK window too.
bench: deps js-deps
	@xvfb-run -a -s "-screen 0 1280x800x24" env ISOGATE_BENCH=1 $(GO) test -p 1 -count=1 -timeout 20m -run '^TestP[1-7](WebKit)?Report$$' -v ./core ./e2e ./cmd/isogate | grep -E '^P[1-7] '

# Every Go fuzz target for FUZZTIME, then the sandbox-js properties for as
# long. New crashers land in the package's testdata/fuzz and go test replays
# them from then on.
fuzz: deps js-deps
	@set -e; for pkg in $(FUZZ_PKGS); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz: $$pkg $$t for $(FUZZTIME)"; \
	    GO=$(GO) scripts/fuzz-target.sh $$pkg $$t $(FUZZTIME); \
	  done; \
	done
	cd sandbox-js && FUZZ_SECONDS=$(patsubst %s,%,$(FUZZTIME)) npm run fuzz --silent

# System packages: chromium for the browser tests, GTK/WebKitGTK and Xvfb for
# the desktop window and its tests (xwd from x11-apps takes their screenshot),
# python3 for the test backend.
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# npm packages for sandbox-js, from the committed lock file.
js-deps: sandbox-js/node_modules/.package-lock.json

sandbox-js/node_modules/.package-lock.json: sandbox-js/package-lock.json
	cd sandbox-js && npm ci --no-audit --no-fund --loglevel=error
