# cmat: `make run` opens the workbench, `make test` runs the suite, `make bench` prints the benchmarks.
# Every target installs what is missing first (scripts/setup.sh: apt packages and the default model).
SWIFT ?= swift
RELEASE = -c release -Xswiftc -enable-testing
BIN = .build/release/cmat

.PHONY: setup build run test bench eval-dev clean

setup:
	@./scripts/setup.sh

build: setup
	$(SWIFT) build $(RELEASE) --product cmat

run: build
	$(BIN)

test: setup
	$(SWIFT) build $(RELEASE) --build-tests
	$(SWIFT) test $(RELEASE) --skip-build --disable-swift-testing

# The online step runs with the shipped adapter: the base model's replies mostly fail the rule Checker, so the model
# Checker would not run (online_checker_model_calls says how many timed steps it reviewed).
bench: build
	$(BIN) bench
	$(BIN) bench --online-step --adapter adapters/cmat-joint.gguf
	$(BIN) bench --sft

# The AgentBench dev splits (../shared) with a tuned adapter: one greedy CMAT run per domain, then the results.
ADAPTER ?= adapters/cmat-joint.gguf
EVAL_DIR ?= sessions/eval-dev
eval-dev: build
	mkdir -p $(EVAL_DIR)
	rm -f $(EVAL_DIR)/db.jsonl $(EVAL_DIR)/os.jsonl
	$(BIN) run --env db --tasks ../shared/agentbench/dbbench/dev.jsonl --checker rules --adapter $(ADAPTER) --out $(EVAL_DIR)/db.jsonl
	$(BIN) run --env os --tasks ../shared/agentbench/os_interaction/dev.json --checker rules --adapter $(ADAPTER) --out $(EVAL_DIR)/os.jsonl
	$(BIN) eval $(EVAL_DIR)/db.jsonl $(EVAL_DIR)/os.jsonl

clean:
	rm -rf .build
