# vmsgate: one entry point for build, check, demo, bench, install and deps.

CC	?= gcc
CLANG	?= clang
BPFTOOL	?= bpftool
PREFIX	?= /usr/local
BUILD	:= build
ARCH	:= $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

PKGS	:= libbpf libnftnl libmnl yaml-0.1 libmicrohttpd libsystemd libpcap
CFLAGS	?= -O2 -g
CFLAGS	+= -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
	   -Iinclude -Iuserspace -I$(BUILD) -D_GNU_SOURCE
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lelf -lz
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	      -Iinclude -I$(BUILD)

SRCS	:= $(wildcard userspace/*.c)
LIBSRCS	:= $(filter-out userspace/main.c,$(SRCS))
OBJS	:= $(patsubst userspace/%.c,$(BUILD)/obj/%.o,$(SRCS))
LIBOBJS	:= $(patsubst userspace/%.c,$(BUILD)/obj/%.o,$(LIBSRCS))
ASANOBJS := $(patsubst userspace/%.c,$(BUILD)/asan/%.o,$(LIBSRCS))
BPFSRCS	:= $(wildcard bpf/*.bpf.c)
BPFHDRS	:= $(wildcard bpf/*.h) $(wildcard include/*.h)
SKELS	:= $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPFSRCS))
UNIT	:= $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
UNIT_ASAN := $(patsubst tests/unit/%.c,$(BUILD)/tests/asan_%,$(wildcard tests/unit/test_*.c))
BPFT	:= $(patsubst tests/bpf/%.c,$(BUILD)/tests/bpf_%,$(wildcard tests/bpf/test_*.c))
ASAN	:= -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
FUZZ_SECONDS ?= 20

.PHONY: all deps check test-unit test-bpf test-e2e fuzz fuzz-short demo bench install \
	clean format

all: $(BUILD)/vmsgate

# objects are built through pattern rules; keep them between test binaries
.SECONDARY: $(OBJS) $(ASANOBJS) $(SKELS) $(patsubst %.skel.h,%.bpf.o,$(SKELS))

deps:
	@./scripts/deps.sh

$(BUILD)/vmlinux.h:
	@mkdir -p $(BUILD)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BPFHDRS) $(BUILD)/vmlinux.h
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@

$(BUILD)/obj/%.o: userspace/%.c $(wildcard userspace/*.h) $(wildcard include/*.h) $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/asan/%.o: userspace/%.c $(wildcard userspace/*.h) $(wildcard include/*.h) $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ASAN) $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/vmsgate: $(OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) -lpthread

$(BUILD)/tests/test_%: tests/unit/test_%.c $(LIBOBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -DSRCDIR='"$(CURDIR)"' -o $@ $^ $(PKG_LIBS) -lcmocka -lpthread

$(BUILD)/tests/asan_test_%: tests/unit/test_%.c $(ASANOBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ASAN) $(PKG_CFLAGS) -DSRCDIR='"$(CURDIR)"' -o $@ $^ $(PKG_LIBS) \
		-lcmocka -lpthread

$(BUILD)/tests/bpf_test_%: tests/bpf/test_%.c tests/bpf/packets.h $(LIBOBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -DSRCDIR='"$(CURDIR)"' -Itests/bpf -o $@ \
		$(filter %.c %.o,$^) $(PKG_LIBS) -lcmocka -lpthread

# the loader and compiler only: no BPF or netlink in the fuzzer
FUZZSRCS := $(addprefix userspace/,site.c compile.c catalog.c roles.c yamlx.c util.c)
$(BUILD)/fuzz_site: tests/fuzz/fuzz_site.c $(FUZZSRCS) $(wildcard userspace/*.h)
	@mkdir -p $(BUILD)
	$(CLANG) -O1 -g -fsanitize=fuzzer,address,undefined -std=gnu11 -Iinclude -Iuserspace \
		-D_GNU_SOURCE -o $@ tests/fuzz/fuzz_site.c $(FUZZSRCS) -lyaml

test-unit: $(UNIT) $(UNIT_ASAN) $(BUILD)/vmsgate
	@./tests/run.sh unit $(UNIT) $(UNIT_ASAN)

test-bpf: $(BPFT) $(BUILD)/vmsgate
	@./tests/run.sh bpf $(BPFT)

$(BUILD)/tests/nft_driver: tests/e2e/nft_driver.c $(LIBOBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $^ $(PKG_LIBS) -lpthread

test-e2e: $(BUILD)/vmsgate $(BUILD)/tests/nft_driver
	@./tests/run.sh e2e $(wildcard tests/e2e/test_*.sh)

fuzz-short: $(BUILD)/fuzz_site
	@FUZZ_SECONDS=$(FUZZ_SECONDS) ./tests/run.sh fuzz tests/fuzz/fuzz.sh

# make fuzz FUZZ_SECONDS=3600 runs as long as asked
fuzz: $(BUILD)/fuzz_site
	@FUZZ_SECONDS=$(FUZZ_SECONDS) ./tests/fuzz/fuzz.sh

check: deps
	@./tests/check.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@./scripts/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@./tests/bench/run.sh

install: $(BUILD)/vmsgate
	install -D -m 0755 $(BUILD)/vmsgate $(DESTDIR)$(PREFIX)/sbin/vmsgate
	install -D -m 0644 policies/xprotect.yaml $(DESTDIR)$(PREFIX)/share/vmsgate/xprotect.yaml
	install -D -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/vmsgate/README.md
	install -D -m 0644 systemd/vmsgate.service \
		$(DESTDIR)/etc/systemd/system/vmsgate.service
	test -e $(DESTDIR)/etc/vmsgate/site.yaml || install -D -m 0644 \
		policies/examples/single-server.yaml $(DESTDIR)/etc/vmsgate/site.yaml

format:
	clang-format -i userspace/*.c userspace/*.h bpf/*.c bpf/*.h include/*.h

clean:
	rm -rf $(BUILD)

# ---- bench ------------------------------------------------------------------
# `make bench` runs tests/bench/run.sh, which builds these through bench-build.
BENCHDIR  := $(BUILD)/bench
BENCHBPF  := $(BENCHDIR)/floor.bpf.o $(BENCHDIR)/xmit.bpf.o
BENCHBINS := $(BENCHDIR)/bench_dp $(BENCHDIR)/bench_cp $(BENCHDIR)/bench_wire

.PHONY: bench-build
bench-build: $(BUILD)/vmsgate $(BENCHBPF) $(BENCHBINS)

$(BENCHDIR)/%.bpf.o: tests/bench/%.bpf.c $(BUILD)/vmlinux.h
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BENCHDIR)/bench_%: tests/bench/bench_%.c tests/bench/bench.c tests/bench/bench.h \
		tests/bpf/packets.h $(LIBOBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Itests/bpf -Itests/bench -o $@ \
		$(filter %.c %.o,$^) $(PKG_LIBS) -lpthread
