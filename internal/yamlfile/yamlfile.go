// Package yamlfile decodes the YAML configuration files of heatsink and
// hooks the same strict way: unknown keys are errors, reported with the
// file's name and the line.
package yamlfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"

	"gopkg.in/yaml.v3"
)

// Decode parses data, the contents of file, into v. An empty document
// leaves v as it is.
func Decode(file string, data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}

// Doc is a decoded file kept as YAML nodes, so that checks after decoding
// can say where a bad value is, as file:line:column.
type Doc struct {
	File string
	root *yaml.Node
}

// Parse reads data as nodes; a document that does not parse has no
// positions (Decode reports its error).
func Parse(file string, data []byte) Doc {
	var n yaml.Node
	if yaml.Unmarshal(data, &n) != nil {
		return Doc{File: file}
	}
	return Doc{File: file, root: &n}
}

// Find returns the node at path: strings are mapping keys, ints sequence
// indexes; an int on a scalar (a one-value list written as a scalar)
// stays on it. It returns nil when there is no such node.
func (d Doc) Find(path ...any) *yaml.Node {
	n := d.root
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, p := range path {
		if n == nil {
			return nil
		}
		switch k := p.(type) {
		case string:
			var next *yaml.Node
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == k {
						next = n.Content[i+1]
					}
				}
			}
			n = next
		case int:
			switch {
			case n.Kind == yaml.SequenceNode && k < len(n.Content):
				n = n.Content[k]
			case n.Kind == yaml.ScalarNode && k == 0:
			default:
				n = nil
			}
		}
	}
	return n
}

// Errorf is an error at path's node: "file:line:column: message", or
// "file: message" when the node is not found.
func (d Doc) Errorf(path []any, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if n := d.Find(path...); n != nil {
		return fmt.Errorf("%s:%d:%d: %s", d.File, n.Line, n.Column, msg)
	}
	return fmt.Errorf("%s: %s", d.File, msg)
}

// CheckHTTPURL reports a URL value (a webhook's, perhaps with {placeholders}
// still to fill) that is not http(s) with a host.
func CheckHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("url %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %q: want http:// or https:// and a host", raw)
	}
	return nil
}
