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
