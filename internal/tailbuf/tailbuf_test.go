package tailbuf

import (
	"strings"
	"testing"
)

func TestTail(t *testing.T) {
	var tl Tail
	tl.Write([]byte(strings.Repeat("a", 1000)))
	tl.Write([]byte(strings.Repeat("b", 100)))
	if s := tl.String(); len(s) != 1024 || !strings.HasSuffix(s, strings.Repeat("b", 100)) || !strings.HasPrefix(s, "a") {
		t.Errorf("tail = %d bytes, %q...", len(s), s[:10])
	}
	small := Tail{Max: 3}
	small.Write([]byte("hello"))
	if small.String() != "llo" {
		t.Errorf("Max 3: %q", small.String())
	}
}
