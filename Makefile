# The two commands of the README, and the builds behind them.
#   make run   install what is missing, build, start two demo nodes
#              that federate (scripts/demo.sh)
#   make test  install what is missing, build with the sanitizers, run
#              the whole suite through ctest: the unit and integration
#              tests (gcc), then bounded libFuzzer runs of every parser
#              of untrusted input (clang); the optimised build is
#              compiled with warnings as errors too

JOBS ?= $(shell nproc)

.PHONY: all deps build build-test build-fuzz build-release run test clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j $(JOBS)

build-test: deps
	cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug \
	    -DOERNODE_SANITIZE=ON -DOERNODE_WERROR=ON -DOERNODE_TEST_HOOKS=ON \
	    >/dev/null
	cmake --build build-test -j $(JOBS)

build-fuzz: deps
	cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang \
	    -DCMAKE_BUILD_TYPE=Debug -DOERNODE_FUZZ=ON -DOERNODE_WERROR=ON \
	    >/dev/null
	cmake --build build-fuzz -j $(JOBS)

# The optimised build of make run, compiled with warnings as errors: the
# optimiser sees (and warns about) what a debug build does not.
build-release: deps
	cmake -S . -B build-release -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DOERNODE_WERROR=ON >/dev/null
	cmake --build build-release -j $(JOBS)

run: build
	@scripts/demo.sh build/oernode

test: build-test build-fuzz build-release
	@[ -d ../shared/data ] || echo "note: ../shared is absent (a user's" \
	    "clone): the tests that read its sample records are skipped;" \
	    "ctest -V in build-test names them"
	cd build-test && ASAN_OPTIONS=detect_leaks=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest --output-on-failure -j $(JOBS)
	cd build-fuzz && ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf build build-test build-fuzz build-release
