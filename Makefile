# Top-level, non-recursive build.  Every binary lands in $(BINDIR) (bin/ by
# default; build/asan/bin for the sanitizer build, `make SAN=1`).
#
#   make            build everything
#   make test       install missing packages, build, run every test
#   make test-asan  the same suite under ASan+UBSan
#   make run        build and start mtad in the foreground on 127.0.0.1:2525
#   make install PREFIX=/usr/local
#   make clean

CC      ?= cc
PREFIX  ?= /usr/local
SAN     ?=
VARIANT := $(if $(SAN),asan,release)
BUILD   := build/$(VARIANT)
BINDIR  := $(if $(SAN),build/asan/bin,bin)

CFLAGS_WARN := -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral -Wno-format-truncation
CPPFLAGS    := -D_GNU_SOURCE -Ilib -MMD -MP
ifeq ($(SAN),)
CFLAGS_OPT  := -O2 -g
SANFLAGS    :=
else
CFLAGS_OPT  := -O1 -g -fno-omit-frame-pointer
SANFLAGS    := -fsanitize=address,undefined -fno-sanitize-recover=undefined
endif
ALL_CFLAGS  := $(CFLAGS_WARN) $(CFLAGS_OPT) $(SANFLAGS) $(CFLAGS)
ALL_LDFLAGS := $(SANFLAGS) $(LDFLAGS)
# Libraries every binary links; a program adds its own with LDLIBS_<name>
# in its module.mk.  libldap: the ldap map class lives in lib/map (libmta).
BASE_LIBS   := -lresolv -ldb -lz -lldap -llber

LIB_SRC  := $(wildcard lib/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIBMTA   := $(BUILD)/libmta.a

# Programs: mtad/, console/ (mtaconsole), tools/<name>/ (one binary each).
TOOLS    := $(notdir $(patsubst %/,%,$(dir $(wildcard tools/*/*.c))))
TOOLS    := $(sort $(TOOLS))
PROGRAMS := mtad $(TOOLS) $(if $(wildcard console/*.c),mtaconsole)
SRCDIR_mtad := mtad
SRCDIR_mtaconsole := console
$(foreach t,$(TOOLS),$(eval SRCDIR_$(t) := tools/$(t)))
-include $(wildcard mtad/module.mk console/module.mk tools/*/module.mk)

BINS  := $(PROGRAMS:%=$(BINDIR)/%)
LINKS := $(BINDIR)/sendmail $(BINDIR)/newaliases

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps test test-asan check-unit run install clean stress bench bench-quick bench-profile bench-deployed
all: $(BINS) $(LINKS) $(UNIT_BIN)

deps:
	@./scripts/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(LIBMTA): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

define program_rule
$(1)_OBJ := $$(patsubst %.c,$(BUILD)/%.o,$$(wildcard $$(SRCDIR_$(1))/*.c))
$(BINDIR)/$(1): $$($(1)_OBJ) $(LIBMTA)
	@mkdir -p $(BINDIR)
	$(CC) $(ALL_LDFLAGS) -o $$@ $$($(1)_OBJ) $(LIBMTA) $$(LDLIBS_$(1)) $(BASE_LIBS)
endef
$(foreach p,$(PROGRAMS),$(eval $(call program_rule,$(p))))

$(LINKS): $(BINDIR)/mtad
	ln -sf mtad $@

$(BUILD)/tests/%: tests/unit/%.c $(LIBMTA)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBMTA) -lcmocka $(BASE_LIBS) $(LDLIBS_$*)
LDLIBS_test_dkim := -lcrypto
LDLIBS_test_pwcache := -Wl,--wrap=getpwnam_r
LDLIBS_test_dirsync := -Wl,--wrap=syncfs

test: deps
	@$(MAKE) --no-print-directory all
	@./tests/run.sh bin build/release/tests

test-asan: deps
	@$(MAKE) --no-print-directory all SAN=1
	@ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ./tests/run.sh build/asan/bin build/asan/tests

run: deps
	@$(MAKE) --no-print-directory all
	@./scripts/run.sh

# make install [PREFIX=/usr/local] [DESTDIR=] [SYSCONFDIR=/etc] [LOCALSTATEDIR=/var]
SYSCONFDIR    ?= /etc
LOCALSTATEDIR ?= /var
SYSTEMDDIR    ?= $(PREFIX)/lib/systemd/system
MSPGROUP      ?= smmsp
install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 bin/mtad $(DESTDIR)$(PREFIX)/sbin/mtad
	ln -sf mtad $(DESTDIR)$(PREFIX)/sbin/sendmail
	ln -sf mtad $(DESTDIR)$(PREFIX)/sbin/newaliases
	ln -sf mtad $(DESTDIR)$(PREFIX)/sbin/hoststat
	ln -sf mtad $(DESTDIR)$(PREFIX)/sbin/purgestat
	ln -sf ../bin/mailq $(DESTDIR)$(PREFIX)/sbin/mailq
	for p in $(filter-out mtad,$(PROGRAMS)); do install -m 755 bin/$$p $(DESTDIR)$(PREFIX)/bin/$$p; done
	for m in man/*.[158]; do s=$${m##*.}; install -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$s/; done
	./scripts/install-system.sh "$(DESTDIR)" "$(PREFIX)" "$(SYSCONFDIR)" "$(LOCALSTATEDIR)" "$(SYSTEMDDIR)" "$(MSPGROUP)"

clean:
	rm -rf build bin

# Reliability suite (tests/README.md).  The fault-injection shim is built
# with every variant (build/<variant>/tests/libfault.so) so that `make test`
# and `make test-asan` can use it; `make fuzz` builds the libFuzzer harnesses
# with clang into build/fuzz and runs each for FUZZ_SECONDS (default 30);
# `make stress` runs the long crash/kill scenarios and then the fuzzers.
FAULT_SO := $(BUILD)/tests/libfault.so
all: $(FAULT_SO)
$(FAULT_SO): tests/fault/libfault.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -Wall -Wextra -Werror -O2 -g -fPIC -shared -o $@ $< -ldl -lpthread

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 30
FUZZ_DIR     := build/fuzz
FUZZ_FLAGS   := -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN     := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_DIR)/%)
FUZZ_LIBOBJ  := $(LIB_SRC:%.c=$(FUZZ_DIR)/%.o)

$(FUZZ_DIR)/lib/%.o: lib/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=gnu11 -D_GNU_SOURCE -Ilib $(FUZZ_FLAGS) -c -o $@ $<

$(FUZZ_DIR)/libmta-fuzz.a: $(FUZZ_LIBOBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DIR)/libmta-fuzz.a
	$(FUZZ_CC) -std=gnu11 -D_GNU_SOURCE -Ilib $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< \
	  $(FUZZ_DIR)/libmta-fuzz.a $(BASE_LIBS) -lssl -lcrypto

.PHONY: fuzz fuzz-build stress-only
fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) ./tests/fuzz/run.sh $(FUZZ_DIR)

stress-only: deps
	@$(MAKE) --no-print-directory all
	@MTA_BINDIR=$(CURDIR)/bin python3 tests/stress/stress.py $(STRESS_ARGS)

stress: stress-only
	@$(MAKE) --no-print-directory fuzz

-include $(LIB_OBJ:.o=.d) $(foreach p,$(PROGRAMS),$($(p)_OBJ:.o=.d))

# Benchmarks (bench/README.md); not part of `make test`.
bench-quick:
	@$(MAKE) --no-print-directory $(BINDIR)/mtad $(BINDIR)/loggrep
	@./bench/quick.sh

bench:
	@$(MAKE) --no-print-directory $(BINDIR)/mtad $(BINDIR)/loggrep $(BINDIR)/hdrtrace
	@-$(MAKE) --no-print-directory $(BINDIR)/mailq
	@./bench/full.sh

# Where a message's time goes: syscalls, CPU and context switches per message
# (bench/profile.sh; counts, so they hold on a loaded machine).
bench-profile:
	@$(MAKE) --no-print-directory $(BINDIR)/mtad
	@./bench/profile.sh

# As deployed: both MTAs started as root, real passwd users (root only).
bench-deployed:
	@$(MAKE) --no-print-directory $(BINDIR)/mtad
	@./bench/deployed.sh
