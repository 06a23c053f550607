# fourierconv — the commands a user needs. See README.md.
BUILD ?= build
JOBS ?= $(shell nproc)
VENV ?= $(BUILD)/venv
PY := $(VENV)/bin/python
# The Python that the C++ tests use for live Keras checks (keras + the fourierconv package).
TEST_ENV := FOURIERCONV_TEST_PYTHON=$(abspath $(PY)) KERAS_BACKEND=jax

.PHONY: deps build python test test-cpp test-python test-baseline san-build test-sanitize test-tsan fuzz fuzz-smoke run bench clean

deps:
	@scripts/install-deps
	@scripts/python-venv $(VENV)

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# The Python package, built by pip (scikit-build-core + nanobind) into the venv; the build
# folder is kept between runs so a rebuild is incremental. It links the release build's
# static library (FOURIERCONV_PREBUILT_LIBRARY) rather than compiling the sources again;
# `pip install .` from a clone compiles them itself.
python: build
	CMAKE_BUILD_PARALLEL_LEVEL=$(JOBS) $(PY) -m pip install -q --disable-pip-version-check --no-build-isolation \
	  --no-deps -Cbuild-dir=$(BUILD)/python \
	  -Ccmake.define.FOURIERCONV_PREBUILT_LIBRARY=$(abspath $(BUILD))/libfourierconv.a .

test: build python
	$(MAKE) --no-print-directory test-cpp test-python test-baseline

test-cpp:
	cd $(BUILD) && $(TEST_ENV) ctest --output-on-failure -j $(JOBS)

test-python:
	cd python/tests && $(TEST_ENV) ../../$(PY) -m pytest -q -p no:cacheprovider .

# The tests on an emulated CPU without AVX (qemu-user, Nehalem: SSE4.2 at most), proving the
# installed code never needs the build machine's CPU.
test-baseline:
	scripts/test-baseline $(BUILD) $(PY)

# Every C++ test (with the fuzz harnesses' seed and regression replays) built with
# AddressSanitizer + LeakSanitizer + UndefinedBehaviorSanitizer (tests/sanitize/README.md).
# The same clang build holds the libFuzzer targets (make fuzz): its code carries libFuzzer's
# coverage instrumentation too, so CI compiles the sanitized library once, not twice.
SAN_BUILD ?= $(BUILD)/sanitize
FUZZ_SECONDS ?= 60
# (A folder configured before with another compiler is started afresh: CMake would drop the
# other options with the old cache.)
san-build: deps
	@grep -qs 'CMAKE_CXX_COMPILER:.*clang' $(SAN_BUILD)/CMakeCache.txt || rm -rf $(SAN_BUILD)
	cmake -S . -B $(SAN_BUILD) -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" -DFOURIERCONV_SANITIZE=address,undefined -DFOURIERCONV_FUZZ=ON \
	  -DFOURIERCONV_BENCH=OFF >/dev/null
	cmake --build $(SAN_BUILD) -j $(JOBS)

test-sanitize: san-build
	scripts/test-sanitize $(SAN_BUILD) address

# The threaded paths (plan cache, OpenMP regions, per-thread buffers) under ThreadSanitizer.
TSAN_BUILD ?= $(BUILD)/tsan
test-tsan: deps
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" -DFOURIERCONV_SANITIZE=thread \
	  -DFOURIERCONV_BENCH=OFF >/dev/null
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target fourierconv_tests
	scripts/test-sanitize $(TSAN_BUILD) thread

# The libFuzzer targets (clang, with ASan + UBSan; the sanitizer build's), and a 60-second run
# of each (fuzz/README.md).
fuzz: san-build

fuzz-smoke: fuzz
	fuzz/run $(SAN_BUILD) $(FUZZ_SECONDS)

# The main job.
run: build
	scripts/run-main-job

bench: build
	$(BUILD)/fourierconv_bench --benchmark_min_time=0.2 --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
	bench/peers.sh

clean:
	rm -rf $(BUILD)
