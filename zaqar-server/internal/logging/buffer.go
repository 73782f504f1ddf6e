package logging

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Lines are gathered for at most flushEvery (or up to flushSize bytes)
// and written together: the access log's line per request was one write
// system call per request, 4% of the server's CPU under load. Lines at
// WARN and above, and Close, write what is gathered at once, so a warning
// or an error is never held back, and a kill -9 loses at most flushEvery
// of INFO lines.
const (
	flushEvery = 10 * time.Millisecond
	flushSize  = 64 << 10
)

// lineBuffer is an io.Writer that batches writes to w.
type lineBuffer struct {
	w     io.Writer
	every time.Duration // flushEvery; tests set it longer

	mu      sync.Mutex
	buf     []byte
	pending *time.Timer // the flush to come; nil when buf is empty
}

func newLineBuffer(w io.Writer) *lineBuffer { return &lineBuffer{w: w, every: flushEvery} }

// Write keeps p (a whole line: slog handlers write one line per call).
func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) >= flushSize {
		return len(p), b.flushLocked()
	}
	if b.pending == nil {
		b.pending = time.AfterFunc(b.every, func() { b.Flush() })
	}
	return len(p), nil
}

// Flush writes what is gathered.
func (b *lineBuffer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flushLocked()
}

func (b *lineBuffer) flushLocked() error {
	if b.pending != nil {
		b.pending.Stop()
		b.pending = nil
	}
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.w.Write(b.buf)
	if cap(b.buf) > 4*flushSize {
		b.buf = nil // after a burst of long lines, do not keep the space
	} else {
		b.buf = b.buf[:0]
	}
	return err
}

// flushing writes b out after each record at WARN or above.
type flushing struct {
	slog.Handler
	b *lineBuffer
}

func (h flushing) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		if ferr := h.b.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (h flushing) WithAttrs(as []slog.Attr) slog.Handler {
	return flushing{h.Handler.WithAttrs(as), h.b}
}

func (h flushing) WithGroup(name string) slog.Handler {
	return flushing{h.Handler.WithGroup(name), h.b}
}
