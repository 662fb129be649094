# ingot. `make run` and `make test` install what is missing (vendor/),
# build, and start private MariaDB and Redis under .run/.
VERSION := 0.1.0
COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

CC ?= cc
PKGS := libmariadb libevent hiredis libcjson libcurl openssl
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2 -Werror
DEFS := -D_DEFAULT_SOURCE -DINGOT_VERSION='"$(VERSION)"' -DINGOT_COMMIT='"$(COMMIT)"'
INCS := -Icore -Imodes -Icmd -Ibuild/gen
CFLAGS_release := -O2 -g
CFLAGS_asan := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
CFLAGS_debug := -O0 -g

CORE_SRC := $(sort $(wildcard core/*.c))
MODES_SRC := $(sort $(wildcard modes/*.c))
CMD_SRC := $(sort $(wildcard cmd/*.c))
APP_SRC := main.c $(CMD_SRC) $(MODES_SRC) $(CORE_SRC)
SQL := $(sort $(wildcard sql/*.sql))
UI := $(sort $(wildcard ui/*.html ui/*.css ui/*.js))
GEN := build/gen/sql_embed.c build/gen/openapi_embed.c build/gen/ui_embed.c
UNIT_SRC := $(sort $(wildcard test/unit/test_*.c))
FAKE_SRC := $(sort $(wildcard test/fakes/*.c))

objs = $(patsubst %.c,build/$(1)/%.o,$(2))

.PHONY: all asan debug static static-unit static-unit-bins run stop test unit bench valgrind lint fuzz clean deps env-example
all: bin/ingot

build/gen/sql_embed.c: $(SQL) sql/embed.sh
	@mkdir -p $(dir $@)
	sh sql/embed.sh $(SQL) > $@.tmp && mv $@.tmp $@

build/gen/openapi_embed.c: docs/openapi.json docs/embed.sh
	@mkdir -p $(dir $@)
	sh docs/embed.sh docs/openapi.json > $@.tmp && mv $@.tmp $@

build/gen/ui_embed.c: $(UI) ui/embed.sh
	@mkdir -p $(dir $@)
	sh ui/embed.sh $(UI) > $@.tmp && mv $@.tmp $@

define variant
build/$(1)/%.o: %.c | $(GEN)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(WARN) $$(DEFS) $$(CFLAGS_$(1)) $$(INCS) $$(PKG_CFLAGS) -MMD -MP -c $$< -o $$@
build/$(1)/ingot: $$(call objs,$(1),$$(APP_SRC) $$(GEN))
	$$(CC) $$(CFLAGS_$(1)) -o $$@ $$^ $$(PKG_LIBS)
build/$(1)/test/unit/%: build/$(1)/test/unit/%.o $$(call objs,$(1),$$(CORE_SRC) $$(GEN) modes/work_result.c)
	$$(CC) $$(CFLAGS_$(1)) -o $$@ $$^ $$(PKG_LIBS)
build/$(1)/test/fakes/%: build/$(1)/test/fakes/%.o
	$$(CC) $$(CFLAGS_$(1)) -o $$@ $$^ $$(PKG_LIBS)
build/$(1)/test/fakes/fakellm: build/$(1)/test/fakes/llm/answer.o build/$(1)/test/fakes/llm/embed.o build/$(1)/test/fakes/llm/record.o build/$(1)/test/fakes/llm/responses.o build/$(1)/test/fakes/llm/send.o
endef
$(eval $(call variant,release))
$(eval $(call variant,asan))
$(eval $(call variant,debug))
.SECONDARY:

bin/ingot: build/release/ingot
	@mkdir -p bin
	cp $< $@

UNIT_BINS = $(patsubst test/unit/%.c,build/$(1)/test/unit/%,$(UNIT_SRC))
FAKE_BINS = $(patsubst test/fakes/%.c,build/$(1)/test/fakes/%,$(FAKE_SRC))

asan: build/asan/ingot $(call UNIT_BINS,asan) $(call FAKE_BINS,asan)
debug: build/debug/ingot $(call UNIT_BINS,debug) $(call FAKE_BINS,debug)

deps:
	sh vendor/install.sh build runtime servers

# The static build: bin/ingot-static, a stripped static PIE on musl with
# mimalloc, every library built from Debian source packages by
# vendor/static/build.sh into a cache outside the work tree (minutes the
# first time, nothing after). The dynamic build above stays the default.
# STATIC_PREFIX is only known after that script ran, so the objects depend
# on build/static/prefix, which changes when the prefix does.
STATIC_JOBS ?= 2
static: $(GEN)
	sh vendor/install.sh static
	@prefix=$$(sh vendor/static/build.sh -j $(STATIC_JOBS) | tail -1) && [ -n "$$prefix" ] && \
	  mkdir -p build/static && \
	  { [ "$$(cat build/static/prefix 2>/dev/null)" = "$$prefix" ] || echo "$$prefix" > build/static/prefix; } && \
	  $(MAKE) bin/ingot-static STATIC_PREFIX="$$prefix"

# The unit tests built the same way (musl, mimalloc), run by test/run.sh.
static-unit: static
	$(MAKE) static-unit-bins STATIC_PREFIX="$$(cat build/static/prefix)"
	INGOT_TEST_UNIT_DIR=build/static/test/unit bash test/run.sh unit

STATIC_CC = $(STATIC_PREFIX)/bin/musl-cc
STATIC_LIBC = $(shell awk '$$1 == "musl-dev" { v = $$2; sub(/-.*/, "", v); print "musl " v }' $(STATIC_PREFIX)/versions 2>/dev/null)
STATIC_DEFS = -DINGOT_STATIC -DINGOT_MIMALLOC -DINGOT_LIBC='"$(STATIC_LIBC)"'
STATIC_INCS = -I$(STATIC_PREFIX)/include -I$(STATIC_PREFIX)/include/mariadb \
	-I$(STATIC_PREFIX)/include/hiredis -I$(STATIC_PREFIX)/include/cjson
# mimalloc.o and faststr.o (memchr, memcpy) first: they replace musl's
# before libc.a is searched.
STATIC_FAST := build/static/vendor/static/faststr.o
STATIC_LIBS = $(STATIC_FAST) $(STATIC_PREFIX)/lib/mimalloc.o -L$(STATIC_PREFIX)/lib -L$(STATIC_PREFIX)/lib/mariadb \
	-lmariadbclient -lcurl -lssl -lcrypto -lhiredis -levent -lcjson -lpthread
CFLAGS_static := -O2 -g -fPIE

build/static/%.o: %.c build/static/prefix | $(GEN)
	@[ -n "$(STATIC_PREFIX)" ] || { echo "use: make static" >&2; exit 1; }
	@mkdir -p $(dir $@)
	$(STATIC_CC) $(WARN) $(DEFS) $(STATIC_DEFS) $(CFLAGS_static) $(INCS) $(STATIC_INCS) -MMD -MP -c $< -o $@
$(STATIC_FAST): vendor/static/faststr.c build/static/prefix
	@mkdir -p $(dir $@)
	$(STATIC_CC) $(WARN) $(CFLAGS_static) -fno-builtin -fno-tree-loop-distribute-patterns -c $< -o $@
build/static/ingot: $(call objs,static,$(APP_SRC) $(GEN)) $(STATIC_FAST)
	@[ -n "$(STATIC_PREFIX)" ] || { echo "use: make static" >&2; exit 1; }
	$(STATIC_CC) -static-pie $(CFLAGS_static) -Wl,--gc-sections -o $@ $(filter-out $(STATIC_FAST),$^) $(STATIC_LIBS)
build/static/test/unit/%: build/static/test/unit/%.o $(call objs,static,$(CORE_SRC) $(GEN) modes/work_result.c) $(STATIC_FAST)
	$(STATIC_CC) -static-pie $(CFLAGS_static) -o $@ $(filter-out $(STATIC_FAST),$^) $(STATIC_LIBS)
build/static/test/unit/test_faststr: vendor/static/test_faststr.c $(STATIC_FAST)
	@mkdir -p $(dir $@)
	$(STATIC_CC) $(WARN) -D_DEFAULT_SOURCE $(CFLAGS_static) -fno-builtin -static-pie -o $@ $^
static-unit-bins: $(call UNIT_BINS,static) build/static/test/unit/test_faststr
build/static/prefix:
	@echo "use: make static (build/static/prefix names the dependency prefix)" >&2; exit 1
bin/ingot-static: build/static/ingot
	@mkdir -p bin
	strip -o $@ $<

# Builds, starts private MariaDB and Redis, writes .env if missing, migrates,
# and runs every role in one process (Ctrl-C drains and stops it; `make stop`
# stops the servers).
run: deps
	$(MAKE) bin/ingot
	bash deploy/local/servers.sh start
	bash deploy/local/dev-run.sh

stop:
	bash deploy/local/servers.sh stop

# The whole suite against real servers: unit tests on an ASan+UBSan build,
# the integration suite on it and, alongside, on bin/ingot-static (built by
# test/run.sh in the background while the unit tests and fuzzers run; the
# first time, from a cold vendor cache, takes minutes; then two runners
# share its suite), with the static binary also run in an empty root
# (test_static_root).
test:
	sh vendor/install.sh build runtime servers test static image
	command -v npm >/dev/null 2>&1 || sh vendor/install.sh node
	$(MAKE) -j2 asan bin/ingot
	INGOT_TEST_STATIC=1 INGOT_TEST_SHARDS=2 INGOT_TEST_STATIC_BUILD='$(MAKE) -j2 static' bash test/run.sh

unit: asan
	bash test/run.sh unit

# bin/ingot-static is benched next to bin/ingot (test/bench/static.sh).
bench:
	sh vendor/install.sh build runtime servers bench test
	$(MAKE) bin/ingot build/release/test/fakes/readytime build/release/test/fakes/fakellm build/release/test/fakes/llmclient
	$(MAKE) static
	bash test/bench/bench.sh

valgrind:
	sh vendor/install.sh build runtime servers test
	$(MAKE) debug
	bash test/valgrind.sh

fuzz:
	sh vendor/install.sh build test
	bash test/fuzz/run.sh $(or $(FUZZ_SECONDS),20)

lint: $(GEN)
	sh vendor/install.sh build lint
	bash test/lint.sh

env-example: bin/ingot
	bin/ingot init --example > .env.example

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
