# Tributary's commands. `make test` is what CI runs (.ci/run).
SWIFT ?= swift

.PHONY: demo test deb test-deb bootstrap build test-only format lint bench bench-check bench-thresholds bench-produce bench-compression bench-many-files bench-agent stress soak test-cluster fuzz test-asan test-tsan clean

## Installs what is missing, builds, starts a local test cluster and runs `tributary run` on the
## demo pipeline (a log file, a socket and stdin into two topics), then shows what was delivered.
demo: bootstrap
	bash scripts/demo.sh

## Installs what is missing (Debian packages, the Python test environment), checks formatting,
## builds, runs every test: the library and config tests first, then the tests of the tributary
## binary (each starts agents and clusters of its own; apart, neither load slows the other).
test: bootstrap lint
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --skip AgentTests
	$(SWIFT) test --skip-build --filter AgentTests

## The Debian package (packaging/build-deb.sh): a release build with the Swift runtime linked in
## statically (own scratch path, .build-deb), the systemd units, the default pipeline as a
## conffile, a man page. Prints the .deb's path on its last line.
deb: bootstrap
	bash packaging/build-deb.sh

## Builds the package as `make deb` does, then checks it (packaging/test-deb.sh): contents,
## conffiles, Depends against the binary's libraries, and the extracted binary validating the
## shipped pipeline. Separate from `make test`: the release build takes minutes.
test-deb: bootstrap
	deb=$$(bash packaging/build-deb.sh | tail -n 1) && bash packaging/test-deb.sh "$$deb"

## Debian packages and the project-local Python environment (.venv) the tests use.
bootstrap:
	bash scripts/bootstrap.sh

build: bootstrap
	$(SWIFT) build

## Tests only, assuming `make bootstrap` ran.
test-only:
	$(SWIFT) test

format:
	$(SWIFT) format --in-place --recursive Package.swift Sources Tests Benchmarks/Package.swift Benchmarks/Benchmarks Fuzz/Package.swift Fuzz/Sources

## Fails on any deviation from .swift-format (run `make format` to fix).
lint:
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests Fuzz/Package.swift Fuzz/Sources

## Micro-benchmarks (package-benchmark): record-batch encoding per codec, CRC-32C, line framing,
## key extraction (regex, JSON field), murmur2 partitioning.
bench: bootstrap
	cd Benchmarks && $(SWIFT) package --allow-writing-to-package-directory benchmark

## The micro-benchmarks' allocation counts against Benchmarks/Thresholds (p90, 5 % or 2 allocations
## of slack). Fails on more allocations; fewer ones pass with a reminder to run `make bench-thresholds`.
bench-check: bootstrap
	cd Benchmarks && { $(SWIFT) package benchmark thresholds check --metric mallocCountTotal; rc=$$?; \
	  if [ $$rc -eq 4 ]; then echo "bench-check: fewer allocations than the thresholds; run make bench-thresholds"; rc=0; fi; \
	  exit $$rc; }

## Rewrites Benchmarks/Thresholds from a fresh run (after an intended change in allocations).
bench-thresholds: bootstrap
	cd Benchmarks && $(SWIFT) package --allow-writing-to-package-directory benchmark thresholds update --metric mallocCountTotal

## `tributary produce` against `kcat -P` on one test cluster (2,000,000 records, lz4, acks=all: tributary
## with and without idempotence; `scripts/bench-produce.sh --acks 1` is the setup without it);
## prints records/s, MB/s, CPU seconds, peak RSS and the ratios.
bench-produce: bootstrap
	bash scripts/bench-produce.sh --repeat 3 --acks all

## 1,000 files followed, 10 of them written at 100 lines/s each for 60 s: the agent's CPU, RSS and
## descriptors every 5 s (scripts/bench_many_files.py --help for other sizes).
## `tributary run` tailing a file and `tributary produce` on stdin, each beside kcat, for
## compression none/lz4/zstd and acks 1/all (2,000,000 lines, 3 runs each; about 15 minutes).
bench-agent:
	bash scripts/bench-agent.sh --json bench-agent.json

bench-many-files: bootstrap
	$(SWIFT) build -c release --product tributary
	.venv/bin/python scripts/bench_many_files.py

## lz4 acknowledgement latency beside a gzip-9 backlog, compression off the event loop and on it
## (40,000 × 2 KB records; the latencies are printed, never asserted).
bench-compression: bootstrap
	$(SWIFT) build --build-tests
	TRIBUTARY_FIGURES=1 $(SWIFT) test --skip-build --filter CompressionOffLoopTests

## Long randomized runs: the idempotent sender's fault schedules with 20,000 seeds each
## (TRIBUTARY_STRESS_SEEDS=N for another count), the file model against the binary with
## 50 seeds (TRIBUTARY_FILE_MODEL_SEEDS=N), and the agent's fault suite with 5 random
## schedules of about a minute each (TRIBUTARY_FAULT_SEEDS=N).
stress: bootstrap
	$(SWIFT) build --build-tests
	TRIBUTARY_STRESS_SEEDS=$${TRIBUTARY_STRESS_SEEDS:-20000} $(SWIFT) test --skip-build --filter IdempotenceStateMachineTests
	TRIBUTARY_FILE_MODEL_SEEDS=$${TRIBUTARY_FILE_MODEL_SEEDS:-50} $(SWIFT) test --skip-build --filter FileModelTests
	TRIBUTARY_FAULT_SEEDS=$${TRIBUTARY_FAULT_SEEDS:-5} $(SWIFT) test --skip-build --filter FaultSuiteAgentTests

## A bounded soak (scripts/soak.py): the release binary ships a steadily written, rotated file and
## socket clients that come and go for SOAK_MINUTES (default 10) while brokers fail, leaders move
## and Produce errors are injected; samples throughput, RSS, descriptors and CPU, then checks that
## every line arrived once and that memory and descriptors stayed flat (SOAK_AGENT_LOG_LEVEL=debug
## keeps the agent's retries in its log). Not part of `make test`.
soak: bootstrap
	$(SWIFT) build -c release --product tributary -j 1
	.venv/bin/python scripts/soak.py --skip-build --minutes $${SOAK_MINUTES:-10} --agent-log-level $${SOAK_AGENT_LOG_LEVEL:-info} --json soak.json

## libFuzzer (with AddressSanitizer) over the pipeline file parser, line framing and multi-line
## records, record batches, and the response frames and bodies: the targets in Fuzz/, each run
## FUZZ_SECONDS (default 60) from its seeds in Fuzz/Corpus; fails on any crash (scripts/fuzz.sh).
fuzz: bootstrap
	bash scripts/fuzz.sh

## The library tests under AddressSanitizer and ThreadSanitizer, each in its own scratch path so
## that the normal build stays as it is. Left out: the tests that run the tributary binary from
## .build/debug (AgentTests, ProduceCommandTests, SecureProduceCommandTests). Suppressions, third-party code only, each with
## its reason: scripts/lsan-suppressions.txt, scripts/tsan-suppressions.txt.
SANITIZER_SKIP = --skip AgentTests --skip ProduceCommandTests --skip SecureProduceCommandTests

test-asan: bootstrap
	$(SWIFT) build --build-tests -j 1 --sanitize=address --scratch-path .build-asan
	LSAN_OPTIONS="suppressions=$(CURDIR)/scripts/lsan-suppressions.txt print_suppressions=0 $${LSAN_OPTIONS:-}" \
	  $(SWIFT) test --skip-build --sanitize=address --scratch-path .build-asan $(SANITIZER_SKIP)

test-tsan: bootstrap
	$(SWIFT) build --build-tests -j 1 --sanitize=thread --scratch-path .build-tsan
	TSAN_OPTIONS="suppressions=$(CURDIR)/scripts/tsan-suppressions.txt halt_on_error=1 $${TSAN_OPTIONS:-}" \
	  $(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan $(SANITIZER_SKIP)

## A local mock Kafka cluster (librdkafka's) for demos: prints its bootstrap list, runs until Ctrl-C.
test-cluster: bootstrap
	scripts/test-cluster --brokers 3

clean:
	rm -rf .build .build-deb .build-asan .build-tsan Benchmarks/.build Fuzz/.build
