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
GEN := build/gen/sql_embed.c
UNIT_SRC := $(sort $(wildcard test/unit/test_*.c))
FAKE_SRC := $(sort $(wildcard test/fakes/*.c))

objs = $(patsubst %.c,build/$(1)/%.o,$(2))

.PHONY: all asan debug run stop test unit bench valgrind lint fuzz clean deps env-example
all: bin/ingot

$(GEN): $(SQL) sql/embed.sh
	@mkdir -p $(dir $@)
	sh sql/embed.sh $(SQL) > $@.tmp && mv $@.tmp $@

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
build/$(1)/test/fakes/fakellm: build/$(1)/test/fakes/llm/answer.o build/$(1)/test/fakes/llm/embed.o build/$(1)/test/fakes/llm/record.o
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

# Builds, starts private MariaDB and Redis, writes .env if missing, migrates,
# and runs every role in one process (Ctrl-C drains and stops it; `make stop`
# stops the servers).
run: deps
	$(MAKE) bin/ingot
	bash deploy/local/servers.sh start
	bash deploy/local/dev-run.sh

stop:
	bash deploy/local/servers.sh stop

# The whole suite on an ASan+UBSan build against real servers.
test:
	sh vendor/install.sh build runtime servers test
	command -v npm >/dev/null 2>&1 || sh vendor/install.sh node
	$(MAKE) asan bin/ingot
	bash test/run.sh

unit: asan
	bash test/run.sh unit

bench:
	sh vendor/install.sh build runtime servers bench test
	$(MAKE) bin/ingot build/release/test/fakes/readytime build/release/test/fakes/fakellm build/release/test/fakes/llmclient
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
