// Command ferretdb runs FerretDB v1 with its embedded SQLite backend: a
// MongoDB-wire-protocol server for the MongoDB driver's tests, since Debian
// has no MongoDB. It lives in its own module so FerretDB's dependencies stay
// out of the main go.mod; scripts/ferretdb builds it.
//
// FerretDB's own cmd/ferretdb panics when built with go install (the module
// zip lacks its version file); the embeddable package skips that check when
// FerretDB is not the main module.
//
//	ferretdb -listen 127.0.0.1:27017 -dir /tmp/ferretdb -log /tmp/ferretdb.log
//
// It serves until SIGTERM or SIGINT, then closes its connections and the
// SQLite files.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	dir := flag.String("dir", "ferretdb-data", "directory of the SQLite files (one per database)")
	logPath := flag.String("log", "", "log file (default standard error)")
	level := flag.String("level", "warn", "log level: debug, info, warn or error")
	flag.Parse()
	if err := run(*listen, *dir, *logPath, *level); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}

func run(listen, dir, logPath, level string) error {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return fmt.Errorf("-level: %w", err)
	}
	out := os.Stderr
	if logPath != "" {
		f, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: lvl}))

	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return err
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: listen},
		Logger:   log,
		Handler:  "sqlite",
		// A directory URI: FerretDB keeps one SQLite file per database in it.
		SQLiteURL: "file:" + abs + "/",
	})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	log.Warn("ferretdb serving", "listen", listen, "dir", abs)
	return f.Run(ctx)
}
