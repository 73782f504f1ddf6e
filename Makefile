.PHONY: run test unit build install

run:
	go run ./zaqar-server

test:
	./scripts/test

# The fast inner loop: embedded and memory stores only, no external servers.
unit:
	go test ./...

# Installation layout (docs/operating.md). The units and zaqar.conf name
# the configuration under SYSCONFDIR, which stays /etc whatever PREFIX is:
# that is where operators (and Zaqar) keep /etc/zaqar/zaqar.conf.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
UNITDIR ?= $(PREFIX)/lib/systemd/system
DOCDIR ?= $(PREFIX)/share/doc/zaqar-go
SYSCONFDIR ?= /etc
DESTDIR ?=

CMDS := zaqar-server zaqar-bench heatsink hooks
PKGS := ./zaqar-server ./zaqar-server/cmd/zaqar-bench ./heatsink/cmd/heatsink ./hooks/cmd/hooks

# --version prints these; without git (a source tarball) the binaries fall
# back to what the Go toolchain recorded.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)$(shell git rev-parse HEAD >/dev/null 2>&1 && { git diff --quiet HEAD 2>/dev/null || echo -dirty; })
LDFLAGS := -X github.com/zaqar-go/suite/internal/version.version=$(VERSION) \
	-X github.com/zaqar-go/suite/internal/version.commit=$(COMMIT)

# Every command into bin/.
build:
	go build -trimpath -ldflags '$(LDFLAGS)' -o bin/ $(PKGS)

# Binaries, systemd units (paths filled in), zaqar.conf (never over an
# existing one), the sample configuration when present, the operator docs.
install: build
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSCONFDIR)/zaqar
	install -m 0755 $(addprefix bin/,$(CMDS)) $(DESTDIR)$(BINDIR)/
	for unit in dist/systemd/*.service; do \
		sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' \
			"$$unit" >"$(DESTDIR)$(UNITDIR)/$${unit##*/}" && chmod 0644 "$(DESTDIR)$(UNITDIR)/$${unit##*/}" || exit 1; \
	done
	[ -e $(DESTDIR)$(SYSCONFDIR)/zaqar/zaqar.conf ] || install -m 0600 dist/zaqar.conf $(DESTDIR)$(SYSCONFDIR)/zaqar/zaqar.conf
	if [ -f etc/zaqar.conf.sample ]; then install -m 0644 etc/zaqar.conf.sample $(DESTDIR)$(SYSCONFDIR)/zaqar/; fi
	install -m 0644 docs/*.md $(DESTDIR)$(DOCDIR)/
