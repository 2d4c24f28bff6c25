# keyward: `make test` installs what is missing, builds and runs every test.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)

.PHONY: all deps configure build test test-tsan run bench clean format

all: build

deps:
	@scripts/install-deps

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# The concurrency tests under ThreadSanitizer (clang or gcc, -fsanitize=thread).
TSAN_DIR ?= build-tsan
CONCURRENCY_TESTS ?= KeyCache|Usage|RateLimiter|Sha256Test.SameAnswer|functional.line-rate|functional.verify
test-tsan: deps
	@scripts/install-deps fuzz
	@cmake -S . -B $(TSAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKEYWARD_TSAN=ON -DCMAKE_CXX_COMPILER=clang++ >/dev/null
	@cmake --build $(TSAN_DIR) -j $(JOBS)
	cd $(TSAN_DIR) && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
	  ctest --output-on-failure -j $(JOBS) -R "$(CONCURRENCY_TESTS)"

# Benchmarks: in-process verification against bare SHA-256, HTTP against
# nginx, and a million keys. Each prints what it compares with.
BENCH_DIR ?= build-bench
bench: deps
	@scripts/install-deps bench
	@cmake -S . -B $(BENCH_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DKEYWARD_BENCH=ON >/dev/null
	@cmake --build $(BENCH_DIR) -j $(JOBS)
	$(BENCH_DIR)/verify_bench --benchmark_min_time=1
	KEYWARD_BIN=$(BENCH_DIR)/keyward bench/http_vs_nginx.sh
	KEYWARD_BIN=$(BENCH_DIR)/keyward bench/scale.sh

run: build
	./$(BUILD_DIR)/keyward serve

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD_DIR)
