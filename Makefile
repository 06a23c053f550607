# fourierconv — the commands a user needs. See README.md.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: deps build test run bench clean

deps:
	@scripts/install-deps

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The main job.
run: build
	scripts/run-main-job

bench: build
	$(BUILD)/fourierconv_bench --benchmark_min_time=0.2 --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
	bench/peers.sh

clean:
	rm -rf $(BUILD)
