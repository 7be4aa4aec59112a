# Postern: the two commands that matter are `make run` and `make test` (see README.md).
.PHONY: run test build bundle drivers deps lab-deps typecheck bench clean firmware upgrade-bundle

NODE ?= node
STATE ?= ./var

run: deps build
	$(NODE) dist/postern.js run --state $(STATE)

test: lab-deps build
	$(NODE) test/run.mjs $(TESTS)

bench: build
	./scripts/install-deps.sh --bench
	$(NODE) test/bench/run.mjs

build: drivers bundle

bundle: deps
	$(NODE) scripts/build.mjs

# Build against the headers of the node that runs us (no download: this machine has no internet).
NODEDIR ?= $(shell $(NODE) -p "require('path').resolve(process.execPath, '../..')")

drivers: deps
	cd drivers && ../node_modules/.bin/node-gyp rebuild --silent --nodedir=$(NODEDIR)

# Single executables (Node SEA, driver embedded) into build/firmware/<board>/: generic-x64 and
# generic-arm64, or one board of board/ with BOARD=<name>; VERSION=X.Y.Z stamps a release version.
# Cached in .cache/firmware/.
BOARD ?=
VERSION ?=
firmware:
	./scripts/install-deps.sh --firmware
	VERSION=$(VERSION) $(NODE) --import tsx scripts/build-firmware.ts $(BOARD)

# Signed update bundles beside the executables (scripts/upgrade-key.mjs: the development key unless
# POSTERN_UPGRADE_PUBLIC_KEY / POSTERN_UPGRADE_SIGNING_KEY name the vendor's).
upgrade-bundle: firmware
	$(NODE) --import tsx scripts/make-upgrade-bundle.ts $(BOARD)

deps:
	./scripts/install-deps.sh

lab-deps:
	./scripts/install-deps.sh --lab

typecheck: deps
	./node_modules/.bin/tsc -p tsconfig.json

clean:
	rm -rf dist drivers/build test/artifacts build/firmware
