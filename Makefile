# The two commands of the README, and the builds behind them.
#   make run   install what is missing, build, start a demo node
#   make test  install what is missing, build with the sanitizers, run
#              the whole suite through ctest

JOBS ?= $(shell nproc)

.PHONY: all deps build build-test run test clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j $(JOBS)

build-test: deps
	cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug \
	    -DOERNODE_SANITIZE=ON -DOERNODE_WERROR=ON >/dev/null
	cmake --build build-test -j $(JOBS)

run: build
	@scripts/demo.sh build/oernode

test: build-test
	cd build-test && ASAN_OPTIONS=detect_leaks=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf build build-test
