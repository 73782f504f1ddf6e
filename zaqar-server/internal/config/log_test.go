package config

import (
	"testing"
)

func TestLogOptions(t *testing.T) {
	c, err := Load(writeConf(t, "[DEFAULT]\ndebug = true\nlog_dir = /var/log/zaqar\nlog_file = api.log\nuse_json = true\nuse_stderr = yes\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Log{Dir: "/var/log/zaqar", File: "api.log", JSON: true, UseStderr: true}
	if c.Log != want || !c.Debug {
		t.Errorf("Log = %+v, Debug = %v; want %+v and true", c.Log, c.Debug, want)
	}
	for _, opt := range c.Ignored {
		t.Errorf("%s reported as ignored", opt)
	}
}

func TestLogOptionsBadBoolean(t *testing.T) {
	if _, err := Load(writeConf(t, "[DEFAULT]\nuse_json = maybe\n")); err == nil {
		t.Error("use_json = maybe loaded without error")
	}
}
