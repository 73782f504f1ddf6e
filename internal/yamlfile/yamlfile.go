// Package yamlfile decodes the YAML configuration files of heatsink and
// hooks the same strict way: unknown keys are errors, reported with the
// file's name and the line.
package yamlfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"

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
