package zaqar

import (
	"bytes"
	"encoding/json"
)

// DecodeMetadata parses a stored or posted metadata document, keeping numbers
// as json.Number so integers are never turned into floats.
func DecodeMetadata(b []byte) (Metadata, error) {
	m := Metadata{}
	if len(bytes.TrimSpace(b)) == 0 {
		return m, nil
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		m = Metadata{}
	}
	return m, nil
}

// DecodeOptions parses a subscription options document the same way.
func DecodeOptions(b []byte) (map[string]any, error) {
	m, err := DecodeMetadata(b)
	return map[string]any(m), err
}
