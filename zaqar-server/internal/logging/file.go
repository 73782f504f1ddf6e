package logging

import (
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

// recheck is how often File looks whether its path still names the file
// it writes: a stat on every line would cost more than the line.
const recheck = time.Second

// File is an append-only log file that follows logrotate: when the path no
// longer names the open file (moved or deleted), the next write after a
// check reopens the path, as Python's WatchedFileHandler (oslo.log's
// default) does on each record; we look at most once a second, and Reopen
// (on SIGHUP) does it at once. Writes are serialised; each slog record is
// one Write, so lines never interleave.
type File struct {
	path string

	mu      sync.Mutex
	f       *os.File
	dev     uint64
	ino     uint64
	checked time.Time
}

// OpenFile opens path for appending, creating it (mode 0640) but not its
// directory, as oslo.log does.
func OpenFile(path string) (*File, error) {
	l := &File{path: path}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

// Path is the file's path.
func (l *File) Path() string { return l.path }

func (l *File) open() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("log file: %w", err)
	}
	if l.f != nil {
		l.f.Close()
	}
	l.f = f
	l.dev, l.ino = fileID(fi)
	l.checked = time.Now()
	return nil
}

// fileID is the device and inode of fi; zeros where the platform has none.
func fileID(fi os.FileInfo) (dev, ino uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), st.Ino
	}
	return 0, 0
}

// Write appends p, first reopening the path if it has moved since the
// last check. If reopening fails the old file keeps the lines.
func (l *File) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now := time.Now(); now.Sub(l.checked) >= recheck {
		l.checked = now
		if l.moved() {
			_ = l.open() // keep writing to the old file; retried next check
		}
	}
	return l.f.Write(p)
}

// moved reports whether the path no longer names the open file.
func (l *File) moved() bool {
	fi, err := os.Stat(l.path)
	if err != nil {
		return true
	}
	dev, ino := fileID(fi)
	return dev != l.dev || ino != l.ino
}

// Reopen closes the file and opens the path again (SIGHUP after
// logrotate, or a copytruncate-free rotation done by hand).
func (l *File) Reopen() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open()
}

// Close closes the file.
func (l *File) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}
