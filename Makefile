# cmat: `make run` opens the workbench, `make test` runs the suite, `make bench` prints the benchmarks.
# Every target installs what is missing first (scripts/setup.sh: apt packages and the default model).
SWIFT ?= swift
RELEASE = -c release -Xswiftc -enable-testing
BIN = .build/release/cmat

.PHONY: setup build run test bench clean

setup:
	@./scripts/setup.sh

build: setup
	$(SWIFT) build $(RELEASE) --product cmat

run: build
	$(BIN)

test: setup
	$(SWIFT) build $(RELEASE) --build-tests
	$(SWIFT) test $(RELEASE) --skip-build --disable-swift-testing

bench: build
	$(BIN) bench
	$(BIN) bench --online-step
	$(BIN) bench --sft

clean:
	rm -rf .build
