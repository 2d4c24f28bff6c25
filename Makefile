# keyward: `make test` installs what is missing, builds and runs every test.
# ccache (CMakeLists.txt uses it when it is installed): paths inside this
# checkout are hashed relative to it, so a clone elsewhere (CI's clean clone)
# reuses what was compiled here, and there is room for the three builds
# (plain, ASan, TSan) of a few commits.
export CCACHE_BASEDIR ?= $(CURDIR)
export CCACHE_NOHASHDIR ?= 1
export CCACHE_MAXSIZE ?= 20G

BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)

.PHONY: all deps web configure build test test-asan test-tsan fuzz fuzz-merge run bench clean format \
	package install

all: build

deps:
	@scripts/install-deps

# The portal and console (web/), built to web/dist and embedded in the binary.
web: deps
	@scripts/build-web

configure: deps web
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# The whole suite (unit, corpus replay, functional) against a build with
# AddressSanitizer and UndefinedBehaviorSanitizer (clang); the functional
# suites run on SQLite only there (PostgreSQL's code runs in the store
# contract and the cluster suite; see CMakeLists.txt). Every process a
# test starts, servers included, writes its sanitizer report to
# $(ASAN_DIR)/sanitizer-logs; any report there fails the run, even from a
# server that a test killed or whose exit status it did not look at
# (scripts/ctest-sanitized).
ASAN_DIR ?= build-asan
test-asan: deps web
	@scripts/install-deps fuzz
	@cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKEYWARD_SANITIZE=ON -DCMAKE_CXX_COMPILER=clang++ >/dev/null
	@cmake --build $(ASAN_DIR) -j $(JOBS)
	ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1" \
	UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
	  scripts/ctest-sanitized $(ASAN_DIR) --output-on-failure -j $(JOBS)

# libFuzzer (clang): every target in fuzz/ for FUZZ_SECONDS each, starting
# from its checked-in corpus. New inputs go to $(FUZZ_DIR)/corpus, findings
# to $(FUZZ_DIR)/findings; a finding fails the run. Put a finding under
# fuzz/corpus/<target>/ once fixed: `make test` replays it from then on.
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= key_parse key_scan json_body http_request config cidr endpoint_pattern
fuzz: deps
	@scripts/install-deps fuzz
	@cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKEYWARD_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ >/dev/null
	@cmake --build $(FUZZ_DIR) -j $(JOBS) --target $(addsuffix _fuzz,$(FUZZ_TARGETS))
	@mkdir -p $(FUZZ_DIR)/findings
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/corpus/$$t; \
	  dict=""; [ -f fuzz/dict/$$t.dict ] && dict="-dict=fuzz/dict/$$t.dict"; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_DIR)/$${t}_fuzz $(FUZZ_DIR)/corpus/$$t fuzz/corpus/$$t $$dict \
	    -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=4096 -max_len=100000 \
	    -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/findings/$$t- \
	    >$(FUZZ_DIR)/$$t.log 2>&1 \
	  || { tail -50 $(FUZZ_DIR)/$$t.log; echo "fuzz: $$t found a problem; the input is in $(FUZZ_DIR)/findings/"; exit 1; }; \
	  grep -E "stat::number_of_executed_units|cov:" $(FUZZ_DIR)/$$t.log | tail -2 | tr '\n' ' '; echo; \
	done
	@echo "fuzz: no findings"

# Folds what `make fuzz` found into the checked-in corpora: only inputs that
# add coverage (-merge=1), and none that carries a key-shaped string (the
# fuzzer copies the harness's throwaway keys out of comparisons).
fuzz-merge:
	@for t in $(FUZZ_TARGETS); do \
	  [ -d $(FUZZ_DIR)/corpus/$$t ] || continue; \
	  before=$$(ls fuzz/corpus/$$t | wc -l); \
	  $(FUZZ_DIR)/$${t}_fuzz -merge=1 fuzz/corpus/$$t $(FUZZ_DIR)/corpus/$$t >$(FUZZ_DIR)/$$t.merge.log 2>&1 || exit 1; \
	  grep -lEa '[a-z0-9]+_[a-z0-9]+_[0-9A-Za-z]{40}' fuzz/corpus/$$t/* | grep -v '/regression-' | xargs -r rm; \
	  echo "fuzz-merge: $$t $$before -> $$(ls fuzz/corpus/$$t | wc -l) inputs"; \
	done

# The concurrency tests under ThreadSanitizer (clang): the shared caches and
# counters, and the functional suites that load a multi-threaded server
# (line rate, hostile clients, SIGKILLs and graceful stops). Reports from any
# process land in $(TSAN_DIR)/sanitizer-logs and fail the run.
TSAN_DIR ?= build-tsan
CONCURRENCY_TESTS ?= KeyCache|Epoch|ThreadStripe|PolicyCache|Usage|LogTest|TimeFormat|CreditLedger|RateLimiter|StoreContract|PgStore|GuardedStore|Clock|KeyServiceRace|Sha256Test.SameAnswer|functional.line-rate|functional.verify|functional.hostile|functional.crash|functional-pg.verify|functional-pg.crash
# Only the programs that hold those tests are built.
TSAN_TARGETS ?= keyward keyward_unit_tests keyward_http_tests keyward_redis_tests keyward_fault_tests
test-tsan: deps web
	@scripts/install-deps fuzz
	@cmake -S . -B $(TSAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKEYWARD_TSAN=ON -DCMAKE_CXX_COMPILER=clang++ >/dev/null
	@cmake --build $(TSAN_DIR) -j $(JOBS) --target $(TSAN_TARGETS)
	TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1" \
	  scripts/ctest-sanitized $(TSAN_DIR) --output-on-failure -j $(JOBS) -R "$(CONCURRENCY_TESTS)"

# Benchmarks: in-process verification against bare SHA-256 (and a legacy
# key's against a native one's), HTTP against nginx and HAProxy (one thread,
# then two), a perf profile of keyward under that load, a million keys,
# credits, three nodes on PostgreSQL (revocation propagation; three nodes
# against one), importing existing keys (keys/s on SQLite and PostgreSQL,
# memory per imported key), `keyward scan` against grep (and rg) on a 200 MB
# tree, and deploy/nginx with and without keep-alive to keyward. Each prints
# what it compares with; bench/logged.sh also copies each one's output to
# $(BENCH_DIR)/logs/<name>.log and goes on when one fails. The run ends with
# bench/summary.sh: every line-rate target with its figure and whether it is
# met or still short, collected from the logs' TARGET lines (make bench fails
# if a benchmark did).
BENCH_DIR ?= build-bench
bench: deps web
	@scripts/install-deps bench
	@cmake -S . -B $(BENCH_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DKEYWARD_BENCH=ON >/dev/null
	@cmake --build $(BENCH_DIR) -j $(JOBS)
	@rm -rf $(BENCH_DIR)/logs && mkdir -p $(BENCH_DIR)/logs
	bench/logged.sh $(BENCH_DIR)/logs/verify_bench.log $(BENCH_DIR)/verify_bench --benchmark_min_time=1
	KEYWARD_BIN=$(BENCH_DIR)/keyward bench/logged.sh $(BENCH_DIR)/logs/http_vs_nginx.log bench/http_vs_nginx.sh
	KEYWARD_BIN=$(BENCH_DIR)/keyward DURATION=5s bench/logged.sh $(BENCH_DIR)/logs/profile.log bench/profile.sh http
	KEYWARD_BIN=$(BENCH_DIR)/keyward bench/logged.sh $(BENCH_DIR)/logs/credits.log bench/credits.sh
	KEYWARD_BIN=$(BENCH_DIR)/keyward bench/logged.sh $(BENCH_DIR)/logs/scale.log bench/scale.sh
	bench/logged.sh $(BENCH_DIR)/logs/cache_memory.log $(BENCH_DIR)/cache_memory
	KEYWARD_BIN=$(BENCH_DIR)/keyward bench/logged.sh $(BENCH_DIR)/logs/cluster.log bench/cluster.sh
	KEYWARD_BIN=$(BENCH_DIR)/keyward bench/logged.sh $(BENCH_DIR)/logs/import.log bench/import.sh
	KEYWARD_BIN=$(BENCH_DIR)/keyward bench/logged.sh $(BENCH_DIR)/logs/scan.log bench/scan.sh
	KEYWARD_BIN=$(BENCH_DIR)/keyward bench/logged.sh $(BENCH_DIR)/logs/gateway_keepalive.log bench/gateway_keepalive.sh
	@bench/summary.sh $(BENCH_DIR)/logs

# Builds the server alone (not the tests), saying so: a first build takes
# minutes on two cores, an up-to-date one a second.
run: configure
	@echo "make run: building keyward (the server only; a first build takes a few minutes, ninja counts the steps)"
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target keyward
	@echo "make run: starting keyward serve on 127.0.0.1:8080 (data in ./data; Ctrl-C stops it)"
	./$(BUILD_DIR)/keyward serve

# The Debian package, keyward_<version>_<arch>.deb in $(BUILD_DIR), from the
# ordinary build (scripts/package strips the binary; deploy/debian/ holds the
# unit, the configuration and the maintainer scripts). `make test` checks it
# (tests/package/).
package: build
	@scripts/package $(BUILD_DIR)

# keyward on PATH: $(DESTDIR)$(PREFIX)/bin/keyward, stripped.
PREFIX ?= /usr/local
install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 -s $(BUILD_DIR)/keyward $(DESTDIR)$(PREFIX)/bin/keyward

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD_DIR)
