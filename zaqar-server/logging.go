package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/zaqar-go/suite/zaqar-server/internal/config"
	"github.com/zaqar-go/suite/zaqar-server/internal/logging"
)

// openLog builds the logger [DEFAULT]'s oslo.log options ask for.
func openLog(cfg config.Config) (*logging.Logger, error) {
	return logging.New(logging.Options{Debug: cfg.Debug, File: cfg.Log.File, Dir: cfg.Log.Dir,
		JSON: cfg.Log.JSON, UseStderr: cfg.Log.UseStderr}, "zaqar-server", os.Stdout, os.Stderr)
}

// reopenOnHangup reopens the log file on SIGHUP (logrotate's postrotate),
// until ctx ends. SIGHUP is caught even without a file: its default
// action would end the server.
func reopenOnHangup(ctx context.Context, l *logging.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if l.File == nil {
					l.Info("SIGHUP: no log file to reopen")
					continue
				}
				if err := l.Reopen(); err != nil {
					l.Error("SIGHUP: log file not reopened; still writing to the old one", "path", l.File.Path(), "err", err)
					continue
				}
				l.Info("SIGHUP: log file reopened", "path", l.File.Path())
			}
		}
	}()
}
