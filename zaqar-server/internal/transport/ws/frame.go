package ws

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/vmihailenco/msgpack/v5"
)

// request is one decoded frame. Every value is kept as JSON text, whatever
// the frame's encoding: binary frames are transcoded once on the way in, so
// the actions and the service see a single representation, and a text
// frame's message bodies reach storage byte for byte (key order included).
type request struct {
	action  string
	binary  bool
	top     map[string]json.RawMessage // the envelope's members
	headers map[string]json.RawMessage // nil unless an object
	body    map[string]json.RawMessage // nil unless an object
	echo    echo
}

// echo is the "request" member of every response: the request as the
// client sent it (zaqar/common/api/request.py get_request).
type echo struct {
	Action  json.RawMessage `json:"action"`
	Body    json.RawMessage `json:"body"`
	Headers json.RawMessage `json:"headers"`
	API     string          `json:"api"`
}

var (
	jsonNull    = json.RawMessage("null")
	emptyObject = json.RawMessage("{}")
)

// noRequest is the echo of a frame that could not be read as an object.
var noRequest = echo{Action: jsonNull, Body: emptyObject, Headers: emptyObject, API: "v2"}

// protocolError is a failure to read a frame at all: status 400 with only
// an "error" member (zaqar/transport/websocket/protocol.py onMessage).
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return e.msg }

// decodeFrame reads a text (JSON) or binary (MessagePack) frame into the
// request envelope. It never panics: a frame it cannot read is a
// *protocolError carrying Zaqar's message.
func decodeFrame(data []byte, binary bool) (*request, error) {
	raw := json.RawMessage(data)
	if binary {
		var err error
		if raw, err = msgpackToJSON(data); err != nil {
			return nil, &protocolError{"Can't decode binary (MessagePack) request. " + err.Error()}
		}
	} else if err := checkJSON(data); err != nil {
		return nil, &protocolError{"Can't decode text (JSON) request. JSONDecodeError: " + err.Error()}
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, &protocolError{"Unexpected body type. Expected dict or dict like."}
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, &protocolError{"Unexpected body type. Expected dict or dict like."}
	}
	r := &request{binary: binary, echo: echo{Action: jsonNull, Body: emptyObject, Headers: emptyObject, API: "v2"}}
	if a, ok := top["action"]; ok {
		r.echo.Action = a
		if kindOf(a) == kindString {
			_ = json.Unmarshal(a, &r.action)
		}
	}
	// As Zaqar's create_request: a missing body echoes {}, and missing or
	// null headers echo {}.
	if b, ok := top["body"]; ok {
		r.echo.Body = b
		if kindOf(b) == kindObject {
			_ = json.Unmarshal(b, &r.body)
		}
	}
	if h, ok := top["headers"]; ok && kindOf(h) != kindNull {
		r.echo.Headers = h
		if kindOf(h) == kindObject {
			_ = json.Unmarshal(h, &r.headers)
		}
	}
	r.top = top
	return r, nil
}

// checkJSON reports why data is not one JSON value.
func checkJSON(data []byte) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v json.RawMessage
	if err := d.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("Expecting value: line 1 column 1 (char 0)")
		}
		return err
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return errors.New("Extra data after the JSON value")
	}
	return nil
}

// ---- MessagePack -------------------------------------------------------

// maxDepth bounds nesting in a MessagePack frame, as encoding/json bounds
// JSON nesting.
const maxDepth = 10000

var (
	errTruncated = errors.New("ValueError: Unpack failed: incomplete input")
	errExtraData = errors.New("ExtraData: unpack(b) received extra data.")
	errTooDeep   = errors.New("StackError: nesting is too deep")
	errExt       = errors.New("ValueError: extension types are not supported")
	errNonFinite = errors.New("ValueError: NaN and infinite floats are not JSON")
	errBadCode   = errors.New("FormatError: invalid MessagePack type code 0xc1")
)

// checkMsgpack walks the one MessagePack value data must hold, without
// allocating, before the library decodes it. The library sizes slices
// from the declared length (a 5-byte frame can declare 4 billion array
// items), so every declared length is checked against the bytes left; it
// also bounds nesting, refuses extension types and non-finite floats, and
// refuses trailing bytes, as Python's msgpack.unpackb does.
func checkMsgpack(data []byte) error {
	// pending[i] is how many values are still to read at depth i.
	pending := []int{1}
	i := 0
	length := func(n int) (int, error) {
		if len(data)-i < n {
			return 0, errTruncated
		}
		var v uint64
		for _, b := range data[i : i+n] {
			v = v<<8 | uint64(b)
		}
		i += n
		if v > uint64(len(data)) {
			return 0, errTruncated
		}
		return int(v), nil
	}
	for len(pending) > 0 {
		top := len(pending) - 1
		if pending[top] == 0 {
			pending = pending[:top]
			continue
		}
		pending[top]--
		if i >= len(data) {
			return errTruncated
		}
		c := data[i]
		i++
		skip, items := 0, 0
		var err error
		switch {
		case c <= 0x7f || c >= 0xe0: // positive and negative fixint
		case c <= 0x8f: // fixmap
			items = 2 * int(c&0x0f)
		case c <= 0x9f: // fixarray
			items = int(c & 0x0f)
		case c <= 0xbf: // fixstr
			skip = int(c & 0x1f)
		}
		switch c {
		case 0xc0, 0xc2, 0xc3: // nil, false, true
		case 0xc1:
			return errBadCode
		case 0xc4, 0xd9: // bin8, str8
			skip, err = length(1)
		case 0xc5, 0xda:
			skip, err = length(2)
		case 0xc6, 0xdb:
			skip, err = length(4)
		case 0xc7, 0xc8, 0xc9, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
			return errExt
		case 0xca:
			if len(data)-i < 4 {
				return errTruncated
			}
			f := math.Float32frombits(binary.BigEndian.Uint32(data[i:]))
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				return errNonFinite
			}
			skip = 4
		case 0xcb:
			if len(data)-i < 8 {
				return errTruncated
			}
			f := math.Float64frombits(binary.BigEndian.Uint64(data[i:]))
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return errNonFinite
			}
			skip = 8
		case 0xcc, 0xd0:
			skip = 1
		case 0xcd, 0xd1:
			skip = 2
		case 0xce, 0xd2:
			skip = 4
		case 0xcf, 0xd3:
			skip = 8
		case 0xdc:
			items, err = length(2)
		case 0xdd:
			items, err = length(4)
		case 0xde:
			items, err = length(2)
			items *= 2
		case 0xdf:
			items, err = length(4)
			items *= 2
		}
		if err != nil {
			return err
		}
		if skip > len(data)-i {
			return errTruncated
		}
		i += skip
		if items > 0 {
			// Every value takes at least one byte.
			if items > len(data)-i {
				return errTruncated
			}
			if len(pending) >= maxDepth {
				return errTooDeep
			}
			pending = append(pending, items)
		}
	}
	if i != len(data) {
		return errExtraData
	}
	return nil
}

// entry is one member of an object, in frame order.
type entry struct {
	key   string
	value any
}

// object keeps an object's members in order, so that a binary frame's
// message bodies keep their key order, as Python's dicts do.
type object []entry

func decodeObject(d *msgpack.Decoder) (any, error) {
	n, err := d.DecodeMapLen()
	if err != nil || n < 0 {
		return nil, err
	}
	o := make(object, 0, n)
	for range n {
		k, err := d.DecodeString()
		if err != nil {
			return nil, fmt.Errorf("keys must be strings: %w", err)
		}
		v, err := d.DecodeInterfaceLoose()
		if err != nil {
			return nil, err
		}
		o = append(o, entry{k, v})
	}
	return o, nil
}

// msgpackToJSON transcodes one MessagePack value to JSON. Binary strings
// become text; floats keep a fraction so that 60.0 stays a float (the
// schema's "integer" refuses it, as jsonschema's Draft 4 does).
func msgpackToJSON(data []byte) (json.RawMessage, error) {
	if err := checkMsgpack(data); err != nil {
		return nil, err
	}
	d := msgpack.NewDecoder(bytes.NewReader(data))
	d.UseLooseInterfaceDecoding(true)
	d.SetMapDecoder(decodeObject)
	v, err := d.DecodeInterfaceLoose()
	if err != nil {
		return nil, fmt.Errorf("ValueError: %v", err)
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeJSON(buf *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case nil:
		buf.WriteString("null")
	case bool:
		buf.WriteString(strconv.FormatBool(x))
	case int64:
		buf.WriteString(strconv.FormatInt(x, 10))
	case uint64:
		buf.WriteString(strconv.FormatUint(x, 10))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return errNonFinite
		}
		s := strconv.FormatFloat(x, 'g', -1, 64)
		if !bytes.ContainsAny([]byte(s), ".eEn") {
			s += ".0"
		}
		buf.WriteString(s)
	case string:
		b, _ := json.Marshal(x)
		buf.Write(b)
	case []any:
		buf.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSON(buf, e); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case object:
		buf.WriteByte('{')
		for i, e := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			k, _ := json.Marshal(e.key)
			buf.Write(k)
			buf.WriteByte(':')
			if err := writeJSON(buf, e.value); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	default:
		return fmt.Errorf("ValueError: unsupported MessagePack value %T", v)
	}
	return nil
}

// jsonToMsgpack re-encodes a JSON document as MessagePack, keeping object
// key order: responses to binary frames, and notifications to connections
// that subscribed with a binary frame (factory.py send_data).
func jsonToMsgpack(data []byte) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	v, err := readJSON(d, 0)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("extra data after the JSON value")
	}
	var buf bytes.Buffer
	if err := writeMsgpack(msgpack.NewEncoder(&buf), v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// readJSON reads one value into nil, bool, string, json.Number, []any or
// object.
func readJSON(d *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errTooDeep
	}
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	var arr []any
	var obj object
	for d.More() {
		if delim == '{' {
			k, err := d.Token()
			if err != nil {
				return nil, err
			}
			key, _ := k.(string)
			v, err := readJSON(d, depth+1)
			if err != nil {
				return nil, err
			}
			obj = append(obj, entry{key, v})
			continue
		}
		v, err := readJSON(d, depth+1)
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
	}
	if _, err := d.Token(); err != nil { // the closing delimiter
		return nil, err
	}
	if delim == '{' {
		return obj, nil
	}
	return arr, nil
}

func writeMsgpack(e *msgpack.Encoder, v any) error {
	switch x := v.(type) {
	case nil:
		return e.EncodeNil()
	case bool:
		return e.EncodeBool(x)
	case string:
		return e.EncodeString(x)
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return e.EncodeInt(i)
		}
		if u, err := strconv.ParseUint(string(x), 10, 64); err == nil {
			return e.EncodeUint(u)
		}
		f, err := x.Float64()
		if err != nil {
			return err
		}
		return e.EncodeFloat64(f)
	case []any:
		if err := e.EncodeArrayLen(len(x)); err != nil {
			return err
		}
		for _, m := range x {
			if err := writeMsgpack(e, m); err != nil {
				return err
			}
		}
		return nil
	case object:
		if err := e.EncodeMapLen(len(x)); err != nil {
			return err
		}
		for _, m := range x {
			if err := e.EncodeString(m.key); err != nil {
				return err
			}
			if err := writeMsgpack(e, m.value); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unexpected JSON value %T", v)
}

// ---- JSON value kinds --------------------------------------------------

type kind uint8

const (
	kindInvalid kind = iota
	kindNull
	kindBool
	kindInteger // a number without fraction or exponent
	kindNumber
	kindString
	kindArray
	kindObject
)

// kindOf classifies a JSON value by its first bytes; raw is known valid.
func kindOf(raw json.RawMessage) kind {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return kindInvalid
	}
	switch raw[0] {
	case 'n':
		return kindNull
	case 't', 'f':
		return kindBool
	case '"':
		return kindString
	case '[':
		return kindArray
	case '{':
		return kindObject
	}
	if bytes.ContainsAny(raw, ".eE") {
		return kindNumber
	}
	return kindInteger
}
