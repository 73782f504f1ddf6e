// Package logging builds the server's *slog.Logger from the oslo.log
// options operators already set in zaqar.conf ([DEFAULT] debug, log_file,
// log_dir, use_json, use_stderr), with oslo.log's rules for where lines go,
// and carries request-scoped attributes (the request id) from a context
// into every line logged with it. It does not decide what is logged.
package logging

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
)

// Options are the oslo.log options we honour ([DEFAULT] section).
type Options struct {
	Debug     bool   // DEBUG instead of INFO
	File      string // log_file
	Dir       string // log_dir
	JSON      bool   // use_json: one JSON object a line
	UseStderr bool   // use_stderr: also (or only) to standard error
}

// Path is where oslo.log writes for these options (log.py
// _get_log_file_path): log_dir/log_file, log_file alone (relative to the
// working directory), log_dir/<binary>.log, or "" for no file.
func (o Options) Path(binary string) string {
	switch {
	case o.File != "" && o.Dir != "":
		if filepath.IsAbs(o.File) {
			return o.File // os.path.join drops log_dir before an absolute path
		}
		return filepath.Join(o.Dir, o.File)
	case o.File != "":
		return o.File
	case o.Dir != "":
		return filepath.Join(o.Dir, binary+".log")
	}
	return ""
}

// Logger is the server's logger and what it owns.
type Logger struct {
	*slog.Logger
	// File is the log file, nil when not logging to one; Reopen it on
	// SIGHUP.
	File *File
	buf  *lineBuffer
}

// Reopen writes the lines gathered to the file they were logged for, then
// reopens the log file (SIGHUP after logrotate).
func (l *Logger) Reopen() error {
	l.buf.Flush()
	return l.File.Reopen()
}

// Close writes the lines still gathered and closes the log file, if any.
func (l *Logger) Close() error {
	err := l.buf.Flush()
	if l.File != nil {
		if cerr := l.File.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// New opens the destinations o names, as oslo.log does: the file when
// log_file or log_dir is set, standard error when use_stderr, and
// standard output when neither (its fallback). stdout and stderr are
// passed in for tests.
func New(o Options, binary string, stdout, stderr io.Writer) (*Logger, error) {
	var outs []io.Writer
	l := &Logger{}
	if path := o.Path(binary); path != "" {
		f, err := OpenFile(path)
		if err != nil {
			return nil, err
		}
		l.File = f
		outs = append(outs, f)
	}
	if o.UseStderr {
		outs = append(outs, stderr)
	}
	if len(outs) == 0 {
		outs = append(outs, stdout)
	}
	w := outs[0]
	if len(outs) > 1 {
		w = io.MultiWriter(outs...)
	}
	level := slog.LevelInfo
	if o.Debug {
		level = slog.LevelDebug
	}
	l.buf = newLineBuffer(w)
	l.Logger = slog.New(flushing{NewHandler(l.buf, o.JSON, level), l.buf})
	return l, nil
}

// NewHandler is a text or JSON handler writing to w at level and above
// that adds the request id of the context to each line.
func NewHandler(w io.Writer, json bool, level slog.Leveler) slog.Handler {
	ho := &slog.HandlerOptions{Level: level}
	if json {
		return contextHandler{slog.NewJSONHandler(w, ho)}
	}
	return contextHandler{slog.NewTextHandler(w, ho)}
}

// ---- request-scoped attributes --------------------------------------------

type requestIDKey struct{}

// requestCtx carries the request id: one allocation per request, where
// context.WithValue would take two (the node and the string boxed as any).
type requestCtx struct {
	context.Context
	id string
}

func (c *requestCtx) Value(key any) any {
	if key == (requestIDKey{}) {
		return c // a pointer: no allocation per lookup
	}
	return c.Context.Value(key)
}

// WithRequestID returns ctx carrying id, which every line logged with the
// context (log.InfoContext, LogAttrs) then shows as request_id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return &requestCtx{Context: ctx, id: id}
}

// RequestID is the request id of ctx, "" when none.
func RequestID(ctx context.Context) string {
	if c, ok := ctx.Value(requestIDKey{}).(*requestCtx); ok {
		return c.id
	}
	return ""
}

// contextHandler adds the context's request id to each record.
type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		if id := RequestID(ctx); id != "" {
			// r is our copy and the Logger does not keep it: adding is safe.
			r.AddAttrs(slog.String("request_id", id))
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(as)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}
