# Thin wrapper over CMake + Ninja. Every target first runs the deps step (installs missing
# Debian packages; a quick dpkg check when all are there).
BUILD       ?= build
ASAN_BUILD  ?= build-asan
FUZZ_BUILD  ?= build-fuzz
FUZZ_SECONDS ?= 60
CMAKE_FLAGS ?=

.PHONY: all deps build test asan fuzz bench demo format clean

all: build

deps:
	@./scripts/deps.sh

build: deps
	@[ -f $(BUILD)/build.ninja ] || cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)
	@cmake --build $(BUILD)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j2 -LE fuzz
	@./scripts/vector-summary.sh $(BUILD)

# Unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer (clang).
asan: deps
	@[ -f $(ASAN_BUILD)/build.ninja ] || CC=clang cmake -S . -B $(ASAN_BUILD) -G Ninja \
		-DCMAKE_BUILD_TYPE=Debug -DVOUCH_SANITIZE=ON
	@cmake --build $(ASAN_BUILD)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j2 -L unit

# Each libFuzzer target for FUZZ_SECONDS seconds, as ctest tests (label fuzz).
fuzz: deps
	@[ -f $(FUZZ_BUILD)/build.ninja ] || CC=clang cmake -S . -B $(FUZZ_BUILD) -G Ninja \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo -DVOUCH_FUZZ=ON
	@cmake --build $(FUZZ_BUILD)
	@cd $(FUZZ_BUILD) && FUZZ_SECONDS=$(FUZZ_SECONDS) ctest --output-on-failure -L fuzz

bench: build
	@./scripts/bench.sh $(BUILD)

demo: build
	@./scripts/demo.sh $(BUILD)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
