# One non-recursive Makefile (git style). Objects and binaries go to $(BUILD),
# which ./configure creates; a second configure with --builddir makes a second
# tree (the sanitizer build uses build-san).

BUILD ?= build
-include $(BUILD)/config-host.mak

ifeq ($(wildcard $(BUILD)/config-host.mak),)
$(error $(BUILD)/config-host.mak is missing: run ./configure first)
endif

DESTDIR ?=
prefix ?= $(PREFIX)
bindir = $(prefix)/bin

CPPFLAGS += -I$(BUILD) -Iinclude -include config-host.h
DEPFLAGS = -MMD -MP

util_src  := $(wildcard util/*.c) $(wildcard util/*.S)
block_src := $(wildcard block/*.c) $(wildcard block/*/*.c)
img_src   := $(wildcard qemu-img/*.c)
io_src    := $(wildcard qemu-io/*.c)
tlib_src  := $(wildcard tests/unit/lib/*.c)
unit_src  := $(wildcard tests/unit/test-*.c)
fuzz_src  := $(wildcard tests/fuzz/fuzz-*.c)

obj = $(patsubst %,$(BUILD)/obj/%.o,$(basename $(1)))

LIB       := $(BUILD)/libblock.a
TESTLIB   := $(BUILD)/libtest.a
QEMU_IMG  := $(BUILD)/qemu-img
QEMU_IO   := $(BUILD)/qemu-io
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(unit_src))
FUZZ_REPLAYS := $(patsubst tests/fuzz/%.c,$(BUILD)/tests/replay-%,$(fuzz_src))

PROGS := $(QEMU_IMG) $(if $(io_src),$(QEMU_IO))

all: $(PROGS)

$(BUILD)/obj/%.o: %.c $(BUILD)/config-host.mak
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.S $(BUILD)/config-host.mak
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(LIB): $(call obj,$(util_src) $(block_src))
	@rm -f $@
	$(AR) rcs $@ $^

$(TESTLIB): $(call obj,$(tlib_src))
	@rm -f $@
	$(AR) rcs $@ $^

$(QEMU_IMG): $(call obj,$(img_src)) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(QEMU_IO): $(call obj,$(io_src)) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/obj/tests/%.o: CFLAGS += $(CHECK_CFLAGS)
$(BUILD)/tests/test-%: $(BUILD)/obj/tests/unit/test-%.o $(TESTLIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LIBS)

# A fuzz target linked with a plain main() that replays its corpus.
$(BUILD)/tests/replay-%: $(BUILD)/obj/tests/fuzz/%.o \
		$(BUILD)/obj/tests/fuzz/replay.o $(TESTLIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# ---- tests ---------------------------------------------------------------

unit-tests: $(UNIT_TESTS)

check-unit: $(UNIT_TESTS)
	@tests/run-unit $(UNIT_TESTS)

check-iotests: $(PROGS)
	@QEMU_IMG_PROG=$(abspath $(QEMU_IMG)) QEMU_IO_PROG=$(abspath $(QEMU_IO)) \
	    tests/iotests/check

check-fuzz: $(FUZZ_REPLAYS)
	@for t in $(FUZZ_REPLAYS); do \
	    name=$${t##*/replay-fuzz-}; \
	    printf '  %-14s ' "$$name"; \
	    $$t tests/fuzz/corpus/$$name || exit 1; \
	done

check: check-unit check-fuzz check-iotests

# The same suite, built with ASan and UBSan in a tree of its own.
SAN_BUILD ?= build-san
check-sanitize:
	@test -f $(SAN_BUILD)/config-host.mak || \
	    ./configure --builddir=$(SAN_BUILD) --enable-sanitizers \
	        $(if $(filter -Werror,$(CFLAGS)),--enable-werror)
	$(MAKE) BUILD=$(SAN_BUILD) check

# ---- benchmarks, fuzzing, install ----------------------------------------

bench: $(PROGS)
	@QEMU_IMG_PROG=$(abspath $(QEMU_IMG)) QEMU_IO_PROG=$(abspath $(QEMU_IO)) \
	    bench/run

# libFuzzer binaries (clang) in a tree of their own: build-fuzz/fuzz-<name>.
# Run one with: build-fuzz/fuzz-json -max_total_time=60 tests/fuzz/corpus/json
FUZZ_BUILD ?= build-fuzz
fuzz:
	@test -f $(FUZZ_BUILD)/config-host.mak || \
	    ./configure --cc=clang --builddir=$(FUZZ_BUILD) --enable-sanitizers \
	        --disable-check --extra-cflags=-fsanitize=fuzzer-no-link
	$(MAKE) BUILD=$(FUZZ_BUILD) fuzz-targets

fuzz-targets: $(patsubst tests/fuzz/%.c,$(BUILD)/%,$(fuzz_src))

$(BUILD)/fuzz-%: $(BUILD)/obj/tests/fuzz/fuzz-%.o $(LIB)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LIBS)

install: $(PROGS)
	install -d $(DESTDIR)$(bindir)
	install -m 755 $(PROGS) $(DESTDIR)$(bindir)

clean:
	rm -rf $(BUILD)/obj $(BUILD)/tests $(PROGS) $(LIB) $(TESTLIB)

.SECONDARY:

.PHONY: all unit-tests check check-unit check-fuzz check-iotests check-sanitize \
	bench fuzz fuzz-targets install clean

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
