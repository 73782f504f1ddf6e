package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSampleConfig keeps etc/zaqar.conf.sample what the option table
// prints, and checks it is a configuration that loads as the defaults.
func TestSampleConfig(t *testing.T) {
	var b strings.Builder
	if err := WriteSample(&b); err != nil {
		t.Fatal(err)
	}
	sample := b.String()
	for _, o := range Options() {
		if !strings.Contains(sample, "\n#"+o.Name+" =") || !strings.Contains(sample, "["+o.Section+"]") {
			t.Errorf("the sample lacks [%s] %s", o.Section, o.Name)
		}
	}
	compareOrUpdate(t, filepath.Join("..", "..", "..", "etc", "zaqar.conf.sample"), sample,
		"go run ./zaqar-server --print-sample-config > etc/zaqar.conf.sample")

	// Uncommented, every line that has a default sets it.
	var conf strings.Builder
	for _, line := range strings.Split(sample, "\n") {
		if m := sampleOption.FindStringSubmatch(line); m != nil && m[2] != "<None>" {
			line = line[1:]
		}
		conf.WriteString(line + "\n")
	}
	p := writeConf(t, conf.String())
	got, err := Load(p)
	if err != nil {
		t.Fatalf("the uncommented sample: %v", err)
	}
	if len(got.Ignored) != 0 {
		t.Errorf("the uncommented sample: Ignored = %v", got.Ignored)
	}
	want := Default()
	got.Files, got.set, want.set = nil, nil, nil
	if got.Stores["embedded"]["path"] != want.Stores["embedded"]["path"] {
		t.Errorf("embedded path = %q", got.Stores["embedded"]["path"])
	}
	if got.SignedURLKey != "" || got.WSGI != want.WSGI || got.WebSocket != want.WebSocket || got.Limits.MaxClaimGrace != want.Limits.MaxClaimGrace {
		t.Errorf("the uncommented sample configures %+v", got)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
}
