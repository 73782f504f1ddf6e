// Package tailbuf keeps the end of a command's output, for the error
// message when it fails, however much it writes.
package tailbuf

import "sync"

// Tail keeps the last Max bytes written to it (1 KiB when Max is 0). It is
// safe for a command's stdout and stderr to share.
type Tail struct {
	Max int

	mu  sync.Mutex
	buf []byte
}

func (t *Tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	limit := t.Max
	if limit <= 0 {
		limit = 1024
	}
	t.buf = append(t.buf, p...)
	if len(t.buf) > limit {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-limit:]...)
	}
	return len(p), nil
}

func (t *Tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
