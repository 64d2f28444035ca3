# facesearch — build, set-up and test entry points.  See README.md.
#
#   make            install missing deps, build build/facesearch
#   make demo       ... then run the demo on the sample photos
#   make test       ... then run the test suite (last line: "N passed, N failed")
#   make test-asan  the suite under AddressSanitizer + UBSan (build/asan/)
#   make test-slurm the nightly Slurm job on a one-node Slurm cluster (root)
#   make models     fetch the pinned, checksum-verified model package
#   make deps       install Debian packages and build the FAISS C API
#   make install    binaries, models, man page, bash completion, systemd units
#   make fuzz       build the libFuzzer harnesses (clang, ASan+UBSan) and run
#                   each for FUZZ_SECONDS (default 30)

BUILD    ?= build
DEPS_DIR ?= $(BUILD)/deps
MODELS   ?= models
PREFIX   ?= /usr/local
ARCH     ?= -march=native
CC       ?= gcc

# tools/deps.sh writes deps.mk: which FAISS build to link (AVX2 where the CPU
# has it, else Debian's).  Make remakes it first when it is missing.
ifeq ($(filter clean distclean,$(MAKECMDGOALS)),)
-include $(DEPS_DIR)/deps.mk
endif

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CFLAGS   ?= -O2 -g
# C++ only for the FAISS shim (src/index/faiss_shim.cpp): what the C API lacks.
ALL_CXXFLAGS = -std=c++17 $(ARCH) $(filter-out -Wstrict-prototypes,$(WARN)) -Iinclude -MMD -MP $(CFLAGS) $(SAN)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DFS_FAISS_BUILD='"$(FAISS_FLAVOUR)"' $(ARCH) $(WARN) -fopenmp -Iinclude -I$(GEN_DIR) -MMD -MP $(CFLAGS) $(SAN)
SYSLIBS  := -lopenblas -llinear -llmdb -lturbojpeg -lpng -lwebpdemux -lwebp -lheif -ltiff -lz -lprotobuf-c -lgomp -lstdc++ -lm -lpthread

# ONNX files are read by protobuf-c code generated from the format's own
# schema (Debian's libonnx-dev), never committed.
ONNX_PROTO ?= /usr/include/onnx/onnx.proto
GEN_DIR  := $(BUILD)/gen
LDLIBS    = $(FAISS_LIBS) $(SYSLIBS)

LIB_SRC  := $(sort $(wildcard src/*/*.c src/*/*.cpp))
BIN_SRC  := $(sort $(wildcard tools/*.c))
TEST_SRC := $(sort $(wildcard tests/*.c))
# Benchmarks: each tests/bench/<name>.c with a main() becomes build/bench/<name>;
# files without one (helpers) are linked into all of them.
BENCH_MAINS := $(shell grep -l '^int main' tests/bench/*.c 2>/dev/null)
BENCH_HELP  := $(filter-out $(BENCH_MAINS),$(wildcard tests/bench/*.c))

# Object dirs per flavour so plain and sanitizer builds can coexist.
OBJ_DIR  ?= $(BUILD)/obj
LIB      := $(OBJ_DIR)/libfacesearch.a
BIN      ?= $(BUILD)/facesearch
MPI_BIN  ?= $(BUILD)/facesearch-mpi
TEST_BIN ?= $(BUILD)/run-tests

LIB_OBJ  := $(addprefix $(OBJ_DIR)/,$(addsuffix .o,$(basename $(LIB_SRC)))) $(OBJ_DIR)/gen/onnx.pb-c.o
BIN_OBJ  := $(BIN_SRC:%.c=$(OBJ_DIR)/%.o)
# facesearch-mpi: the same commands (all of tools/ but facesearch.c's main)
# plus tools/mpi/, against Debian's Open MPI; plain facesearch links no MPI.
MPI_SRC  := $(sort $(wildcard tools/mpi/*.c))
MPI_OBJ  := $(MPI_SRC:%.c=$(OBJ_DIR)/%.o) $(filter-out $(OBJ_DIR)/tools/facesearch.o,$(BIN_OBJ))
MPI_CFLAGS = $(shell pkg-config --cflags ompi-c 2>/dev/null)
MPI_LIBS   = $(shell pkg-config --libs ompi-c 2>/dev/null || echo -lmpi)
TEST_OBJ := $(TEST_SRC:%.c=$(OBJ_DIR)/%.o)

# Keep the bench programs' objects (pattern-chain intermediates).  Not
# .SECONDARY: with it, make skips a missing object when its archive is newer
# than the sources, e.g. after a source file moves.
.PRECIOUS: $(OBJ_DIR)/%.o
.PHONY: all deps models demo test test-asan test-slurm bench eval install man clean distclean check-deps check-test-deps fuzz fuzz-bins

all: check-deps $(BIN) $(MPI_BIN)

$(DEPS_DIR)/deps.mk:
	@DEPS_DIR=$(DEPS_DIR) tools/deps.sh

# Fast when everything is present; installs/builds only what is missing.
check-deps:
	@DEPS_DIR=$(DEPS_DIR) tools/deps.sh --quiet

# The test suite also loads HTML reports in headless Chromium.
check-test-deps:
	@DEPS_DIR=$(DEPS_DIR) tools/deps.sh --quiet --tests

deps:
	@DEPS_DIR=$(DEPS_DIR) tools/deps.sh

models:
	@tools/models.sh $(MODELS)

$(OBJ_DIR)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(GEN_DIR)/onnx.pb-c.c $(GEN_DIR)/onnx.pb-c.h: $(ONNX_PROTO)
	@mkdir -p $(GEN_DIR)
	cp $(ONNX_PROTO) $(GEN_DIR)/onnx.proto
	cd $(GEN_DIR) && protoc-c --c_out=. onnx.proto

$(OBJ_DIR)/src/nn/onnx.o $(OBJ_DIR)/tests/onnx_util.o: $(GEN_DIR)/onnx.pb-c.h

# Generated code: compiled with the project's flags but without its own
# warnings policy (it is not ours to fix).
$(OBJ_DIR)/gen/onnx.pb-c.o: $(GEN_DIR)/onnx.pb-c.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(ARCH) -I$(GEN_DIR) $(CFLAGS) $(SAN) -w -c $< -o $@

$(OBJ_DIR)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_CXXFLAGS) -c $< -o $@

# The NN kernels are hot loops: let the compiler unroll and vectorise harder.
$(OBJ_DIR)/src/nn/%.o: CFLAGS += -O3

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(BIN_OBJ) $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $(BIN_OBJ) $(LIB) $(LDLIBS)

$(OBJ_DIR)/tools/mpi/%.o: ALL_CFLAGS += $(MPI_CFLAGS)

$(MPI_BIN): $(MPI_OBJ) $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $(MPI_OBJ) $(LIB) $(LDLIBS) $(MPI_LIBS)

$(TEST_BIN): $(TEST_OBJ) $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $(TEST_OBJ) $(LIB) $(LDLIBS)

BENCH_BINS := $(BENCH_MAINS:tests/bench/%.c=$(BUILD)/bench/%)
BENCH_HOBJ := $(BENCH_HELP:%.c=$(OBJ_DIR)/%.o)
$(BUILD)/bench/%: $(OBJ_DIR)/tests/bench/%.o $(BENCH_HOBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BENCH_HOBJ) $(LIB) $(LDLIBS)

# The same index benchmark over Debian's FAISS (no AVX2): its peer, run side
# by side by tools/bench.sh.
$(BUILD)/bench/bench_index_debian: $(OBJ_DIR)/tests/bench/bench_index.o $(BENCH_HOBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BENCH_HOBJ) $(LIB) $(FAISS_DEBIAN_LIBS) $(SYSLIBS)

# Benchmarks print their figures; tools/bench.sh runs them in order and says
# which need ../shared (skipped when absent).  BENCH=name runs one.
bench: check-deps models $(BIN) $(BENCH_BINS) $(BUILD)/bench/bench_index_debian
	@BIN=$(BIN) BUILD=$(BUILD) MODELS=$(MODELS) tools/bench.sh $(BENCH)

# Accuracy on LFW A-M (docs/accuracy.md): verification, identification,
# clustering, named people.  LFW=DIR points elsewhere.  ident and cluster share one
# database (the second run finds every photo already ingested).
LFW ?= ../shared/data/lfw_am
eval: all models
	@test -d $(LFW) || { echo "make eval: $(LFW) not found (set LFW=DIR)"; exit 1; }
	@if [ -f $(BUILD)/eval-db/faces.mdb ]; then $(BIN) reembed --db $(BUILD)/eval-db --quiet; fi
	$(BIN) eval lfw --root $(LFW) --pairs $(LFW)/pairs.txt --json
	$(BIN) eval ident --root $(LFW) --db $(BUILD)/eval-db --json
	$(BIN) eval cluster --root $(LFW) --db $(BUILD)/eval-db --json
	$(BIN) eval enrol --root $(LFW) --db $(BUILD)/eval-db --shots 5 --json

demo: all models
	@BIN=$(BIN) MODELS=$(MODELS) tools/demo.sh

test: check-test-deps models $(BIN) $(MPI_BIN) $(TEST_BIN)
	FS_TEST_BIN=$(BIN) FS_TEST_MODELS=$(MODELS) FS_TEST_NEED_CHROMIUM=1 $(TEST_BIN) $(T)

# Same suite, separate object tree, sanitizers on.  OpenBLAS is not
# instrumented; ASan still checks every access our code makes.
test-asan: check-test-deps models
	@$(MAKE) --no-print-directory OBJ_DIR=$(BUILD)/asan BIN=$(BUILD)/asan/facesearch \
	  TEST_BIN=$(BUILD)/asan/run-tests MPI_BIN=$(BUILD)/asan/facesearch-mpi \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
	  CFLAGS="-O1 -g" $(BUILD)/asan/facesearch $(BUILD)/asan/facesearch-mpi $(BUILD)/asan/run-tests
	FS_TEST_SANITIZED=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  LSAN_OPTIONS=suppressions=tests/lsan.supp \
	  FS_TEST_BIN=$(BUILD)/asan/facesearch FS_TEST_MODELS=$(MODELS) FS_TEST_NEED_CHROMIUM=1 $(BUILD)/asan/run-tests $(T)

# The nightly Slurm job (tools/slurm-nightly.sh) for real: a one-node Slurm
# cluster started on this machine (munge, slurmctld, slurmd; needs root),
# sbatch, checks, then the daemons stopped (tools/test-slurm.sh).
test-slurm: check-deps models $(BIN) $(MPI_BIN)
	@DEPS_DIR=$(DEPS_DIR) tools/deps.sh --quiet --slurm
	BIN=$(BIN) MODELS=$(MODELS) tools/test-slurm.sh

# Fuzzing: every reader of outside data under libFuzzer (tests/fuzz/), built
# by clang with ASan and UBSan in its own object tree; tools/fuzz.sh runs
# each harness for FUZZ_SECONDS over its seeds (tests/fuzz/seeds.c, made
# from the test images) and its saved findings (tests/fuzz/regress/), and
# fails on any crash, leak, timeout or sanitizer report.
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_SECONDS ?= 30
FUZZ_NAMES   := image_jpeg image_png image_webp image_heif image_tiff exif config json weights \
                onnx manifest records sidecar
FUZZ_SAN     := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
fuzz: check-deps models $(BUILD)/fuzz-seeds
	@DEPS_DIR=$(DEPS_DIR) tools/deps.sh --quiet --fuzz
	@$(MAKE) --no-print-directory OBJ_DIR=$(FUZZ_DIR)/obj CC=clang CXX=clang++ \
	  SAN="$(FUZZ_SAN)" CFLAGS="-O1 -g -Wno-pass-failed" fuzz-bins
	@rm -rf $(FUZZ_DIR)/seeds && $(BUILD)/fuzz-seeds $(FUZZ_DIR)/seeds $(MODELS)
	FUZZ_DIR=$(FUZZ_DIR) tools/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_NAMES)

fuzz-bins: $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)

$(FUZZ_DIR)/fuzz_image_%: tests/fuzz/fuzz_image.c $(OBJ_DIR)/tests/fuzz/fuzz_file.o $(LIB)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -DFUZZ_FORMAT=$* -o $@ $< \
	  $(OBJ_DIR)/tests/fuzz/fuzz_file.o $(LIB) $(LDLIBS)

$(FUZZ_DIR)/fuzz_%: $(OBJ_DIR)/tests/fuzz/fuzz_%.o $(OBJ_DIR)/tests/fuzz/fuzz_file.o $(LIB)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

# The seed writer is an ordinary program (gcc, no sanitizers).
$(BUILD)/fuzz-seeds: $(OBJ_DIR)/tests/fuzz/seeds.o $(OBJ_DIR)/tests/onnx_util.o \
                    $(OBJ_DIR)/tests/encode_util.o $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(OBJ_DIR)/tests/fuzz/seeds.o: $(GEN_DIR)/onnx.pb-c.h

# An installed binary finds the models under PREFIX/share/facesearch.
$(OBJ_DIR)/tools/cli.o: ALL_CFLAGS += -DFS_DATADIR='"$(PREFIX)/share/facesearch"'

# The man page is made from the binary's own --help texts (tools/manpage.sh).
man: $(BUILD)/facesearch.1
$(BUILD)/facesearch.1: $(BIN) tools/manpage.sh
	tools/manpage.sh $(BIN) > $@.tmp && mv $@.tmp $@

install: all models $(BUILD)/facesearch.1
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/facesearch/models \
	  $(DESTDIR)$(PREFIX)/share/facesearch/systemd $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/facesearch
	install -m 0755 $(MPI_BIN) $(DESTDIR)$(PREFIX)/bin/facesearch-mpi
	install -m 0644 configs/default.conf $(DESTDIR)$(PREFIX)/share/facesearch/default.conf
	install -m 0644 $(BUILD)/facesearch.1 $(DESTDIR)$(PREFIX)/share/man/man1/facesearch.1
	install -m 0644 tools/completion.bash \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/facesearch
	sed 's|/usr/local/bin/|$(PREFIX)/bin/|' configs/systemd/facesearch-nightly.service \
	  > $(DESTDIR)$(PREFIX)/share/facesearch/systemd/facesearch-nightly.service
	install -m 0644 configs/systemd/facesearch-nightly.timer \
	  $(DESTDIR)$(PREFIX)/share/facesearch/systemd/facesearch-nightly.timer
	cp -rL $(MODELS)/. $(DESTDIR)$(PREFIX)/share/facesearch/models/

clean:
	rm -rf $(BUILD)/obj $(BUILD)/asan $(BUILD)/gen $(BUILD)/facesearch $(BUILD)/run-tests

# Also drops the cached FAISS C API build and the fetched models.
distclean:
	rm -rf $(BUILD) $(MODELS)

-include $(LIB_OBJ:.o=.d) $(BIN_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(BENCH_HOBJ:.o=.d) \
  $(BENCH_MAINS:tests/bench/%.c=$(OBJ_DIR)/tests/bench/%.d)
