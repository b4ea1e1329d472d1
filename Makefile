# The README's two set-up commands are `make demo` and `make test`. Both
# install what is missing (as root on Debian 12) and are quiet when all is there.

GO          ?= go
APT_PACKAGES = chromium libgtk-3-dev libwebkit2gtk-4.0-dev xvfb xauth x11-apps python3
SUDO        := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test deps js-deps build

demo: deps
	$(GO) run ./cmd/isogate demo

test: deps js-deps
	$(GO) vet ./...
	cd sandbox-js && node build.mjs --check && npm test --silent && npx tsc -p tsconfig.json
	xvfb-run -a -s "-screen 0 1280x800x24" env ISOGATE_REQUIRE_BROWSER=1 ISOGATE_REQUIRE_DISPLAY=1 \
	  $(GO) test -timeout 8m ./...

build:
	$(GO) build -o bin/isogate ./cmd/isogate

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
