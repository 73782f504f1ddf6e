package service

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"

	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// Zaqar's descriptions for body problems (zaqar/transport/wsgi/utils.py).
var (
	errEmptyBody   = zaqar.BadBodyf("Request body can not be empty")
	errUnparsable  = zaqar.BadBodyf("Request body could not be parsed.")
	errDocType     = zaqar.BadBodyf("Document type not supported.")
	errIntTooLarge = zaqar.BadBodyf("JSON contains integer that is too large.")
	// Ours: Python reads such a float as infinity and writes it back as
	// Infinity, which is not JSON.
	errFloatTooLarge = zaqar.BadBodyf("JSON contains float that is too large.")
)

// object is a JSON object whose values are decoded on demand.
type object map[string]json.RawMessage

// decodeDoc parses a request document as Zaqar's read_json: a nil body (no
// Content-Length) is empty, and the top level must be an object or an array.
func decodeDoc(body []byte) (json.RawMessage, error) {
	if body == nil {
		return nil, errEmptyBody
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || !json.Valid(body) || (body[0] != '{' && body[0] != '[') {
		return nil, errUnparsable
	}
	return body, nil
}

// decodeObject parses a request document that must be a JSON object.
func decodeObject(body []byte) (object, error) {
	raw, err := decodeDoc(body)
	if err != nil {
		return nil, err
	}
	if raw[0] != '{' {
		return nil, errDocType
	}
	var o object
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, errUnparsable
	}
	return o, nil
}

// decodeArray parses a document that must be a JSON array.
func decodeArray(raw []byte) ([]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '[' {
		return nil, errDocType
	}
	var a []json.RawMessage
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, errUnparsable
	}
	return a, nil
}

// intField reads an integer field, def when absent. Like Zaqar's
// get_checked_field it rejects any other JSON type, floats included.
func (o object) intField(name string, def int64) (int64, error) {
	raw, ok := o[name]
	if !ok {
		return def, nil
	}
	return parseInt(name, raw)
}

func parseInt(name string, raw json.RawMessage) (int64, error) {
	s := string(bytes.TrimSpace(raw))
	if s == "" || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) || bytes.ContainsAny(raw, ".eE") {
		return 0, zaqar.BadBodyf(`The value of the "%s" field must be a int.`, name)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, errIntTooLarge
	}
	return n, nil
}

// decodeValue parses any JSON value keeping numbers as json.Number, and
// rejects integers outside int64 as Zaqar does.
func decodeValue(raw []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, errUnparsable
	}
	if d.More() {
		return nil, errUnparsable
	}
	if err := numbersFit(v); err != nil {
		return nil, err
	}
	return v, nil
}

func numbersFit(v any) error {
	switch x := v.(type) {
	case json.Number:
		return checkNumber([]byte(x))
	case map[string]any:
		for _, e := range x {
			if err := numbersFit(e); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range x {
			if err := numbersFit(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkNumber refuses a JSON number no reader can take back whole: an
// integer outside int64 (Zaqar's read_json refuses those) or a number
// beyond float64's range. MessagePack, the WebSocket API's other encoding,
// carries neither, and most JSON readers turn them into something else.
// num is a valid JSON number.
func checkNumber(num []byte) error {
	float := false
	for _, c := range num {
		if c == '.' || c == 'e' || c == 'E' {
			float = true
			break
		}
	}
	if !float {
		if len(num) <= 18 { // at most 18 digits always fit
			return nil
		}
		if _, err := strconv.ParseInt(string(num), 10, 64); err != nil {
			return errIntTooLarge
		}
		return nil
	}
	if f, err := strconv.ParseFloat(string(num), 64); err != nil && math.IsInf(f, 0) {
		return errFloatTooLarge
	}
	return nil
}

// checkNumbers applies checkNumber to every number of the valid JSON value
// raw, skipping strings: message bodies are checked this way on the hot
// path, without decoding them.
func checkNumbers(raw []byte) error {
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '"':
			i = skipString(raw, i) - 1
		case c == '-' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(raw) && numberByte(raw[j]) {
				j++
			}
			if err := checkNumber(raw[i:j]); err != nil {
				return err
			}
			i = j - 1
		}
	}
	return nil
}

func numberByte(c byte) bool {
	return (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

// asInt reports whether a decoded metadata value is a JSON integer.
func asInt(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok || bytes.ContainsAny([]byte(n), ".eE") {
		return 0, false
	}
	i, err := n.Int64()
	return i, err == nil
}

// truthy follows Python truthiness for decoded JSON values; Zaqar checks
// reserved metadata types only when the value is truthy.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case json.Number:
		f, err := x.Float64()
		return err != nil || f != 0
	case map[string]any:
		return len(x) > 0
	case []any:
		return len(x) > 0
	case zaqar.Metadata:
		return len(x) > 0
	}
	return true
}
