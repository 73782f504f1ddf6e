package yamlfile

import (
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	type conf struct {
		Name string `yaml:"name"`
	}
	var c conf
	if err := Decode("a.yml", []byte("name: x\n"), &c); err != nil || c.Name != "x" {
		t.Errorf("Decode = %v, %+v", err, c)
	}
	c = conf{Name: "kept"}
	if err := Decode("a.yml", nil, &c); err != nil || c.Name != "kept" {
		t.Errorf("empty document: %v, %+v", err, c)
	}
	err := Decode("a.yml", []byte("name: x\nnmae: y\n"), &c)
	if err == nil || !strings.Contains(err.Error(), "a.yml") || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "nmae") {
		t.Errorf("unknown key: %v", err)
	}
}

func TestDocErrorf(t *testing.T) {
	d := Parse("h.yml", []byte("rules:\n  - name: a\n    match: {hook: [pre-create, pre-crate]}\n  - match: {action: CRATE}\n"))
	for _, tc := range []struct {
		path []any
		want string
	}{
		{[]any{"rules", 0, "match", "hook", 1}, "h.yml:3:32: bad"},
		{[]any{"rules", 1, "match", "action", 0}, "h.yml:4:21: bad"},
		{[]any{"rules", 1}, "h.yml:4:5: bad"},
		{[]any{"rules", 5}, "h.yml: bad"},
	} {
		if got := d.Errorf(tc.path, "bad").Error(); got != tc.want {
			t.Errorf("Errorf(%v) = %q, want %q", tc.path, got, tc.want)
		}
	}
}

func TestCheckHTTPURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://lb.example/register":   true,
		"http://127.0.0.1:8080/{stack}": true,
		"ftp://x/y":                     false,
		"https:///path":                 false,
		"lb.example/register":           false,
		"http://[::1":                   false,
	} {
		if err := CheckHTTPURL(raw); (err == nil) != ok {
			t.Errorf("CheckHTTPURL(%q) = %v, want ok %v", raw, err, ok)
		}
	}
}
