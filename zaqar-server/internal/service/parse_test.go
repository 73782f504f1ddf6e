package service

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// parseMessagesByMaps is the map-decoding parser that the single-pass walker
// replaced, kept as the reference the walker must agree with.
func (s *Service) parseMessagesByMaps(meta zaqar.Metadata, body []byte, clientID string) ([]zaqar.NewMessage, error) {
	raw, err := decodeDoc(body)
	if err != nil {
		return nil, err
	}
	var doc object
	if raw[0] == '{' {
		if err := json.Unmarshal(raw, &doc); err != nil {
			return nil, errUnparsable
		}
	}
	raw, ok := doc["messages"] // a top-level array has no "messages" either
	if !ok {
		return nil, zaqar.Invalidf("No messages were found in the request body.")
	}
	items, err := decodeArray(raw)
	if err != nil {
		return nil, err
	}
	defTTL := int64(s.limits.DefaultMessageTTL / time.Second)
	if n, ok := asInt(meta["_default_message_ttl"]); ok && n != 0 {
		defTTL = n
	}
	delayed := false
	var defDelay int64
	if n, ok := asInt(meta["_default_message_delay"]); ok && n != 0 {
		delayed, defDelay = true, n
	}
	maxTTL := int64(s.limits.MaxMessageTTL / time.Second)
	maxDelay := int64(s.limits.MaxMessageDelay / time.Second)
	out := make([]zaqar.NewMessage, 0, len(items))
	for _, item := range items {
		if b := bytes.TrimSpace(item); len(b) == 0 || b[0] != '{' {
			return nil, errDocType
		}
		var o object
		if err := json.Unmarshal(item, &o); err != nil {
			return nil, errUnparsable
		}
		ttl, err := o.intField("ttl", defTTL)
		if err != nil {
			return nil, err
		}
		b, ok := o["body"]
		if !ok {
			return nil, zaqar.BadBodyf(`Missing "body" field.`)
		}
		if _, err := decodeValue(b); err != nil {
			return nil, err
		}
		var delay int64
		if delayed {
			if delay, err = o.intField("delay", defDelay); err != nil {
				return nil, err
			}
		}
		out = append(out, zaqar.NewMessage{
			Body:     compact(b),
			TTL:      time.Duration(ttl) * time.Second,
			Delay:    time.Duration(delay) * time.Second,
			ClientID: clientID,
		})
		if ttl < 60 || ttl > maxTTL {
			return nil, zaqar.Invalidf("The TTL for a message may not exceed %d seconds, and must be at least 60 seconds long.", maxTTL)
		}
		if delay < 0 || delay > maxDelay {
			return nil, zaqar.Invalidf("The Delay TTL for a message may not exceed %d seconds,and must be at least 0 seconds long.", maxDelay)
		}
	}
	if len(out) == 0 {
		return nil, zaqar.Invalidf("No messages to enqueu.")
	}
	if s.checksum {
		for i := range out {
			out[i].Checksum = checksum(out[i].Body)
		}
	}
	return out, nil
}

// postDocs are message post documents, valid and not, that exercise the
// walker: whitespace everywhere, escapes in keys and strings, duplicate
// keys, nesting, every value type in every position.
var postDocs = []string{
	`{"messages":[{"body":1}]}`,
	` { "messages" : [ { "body" : { "a" : [ 1 , 2 ] } , "ttl" : 300 } ] } `,
	"{\n\t\"messages\":\r\n[{\"ttl\":120,\"body\":\"x y\"},{\"body\":[\"} ]\",{}],\"delay\":5}]}",
	`{"messages":[{"b\u006fdy":"escaped key","t\u0074l":61}]}`,
	`{"messages":[{"body":"a\"b\\c\u00e9\n"}]}`,
	`{"messages":[{"body":1,"body":{"last":true}}]}`,
	`{"messages":[{"body":1}],"messages":[{"body":2},{"body":3}]}`,
	`{"messages":[{"body":null},{"body":false},{"body":-1.5e3},{"body":""},{"body":{}},{"body":[]}]}`,
	`{"messages":[{"body":{"n":1e400}}]}`,
	`{"messages":[{"body":[1,-1E+309]}]}`,
	`{"messages":[{"body":99999999999999999999}]}`,
	`{"messages":[{"body":{"a":[9223372036854775808]}}]}`,
	`{"messages":[{"body":[-9223372036854775808,9223372036854775807,1e-400,1.7976931348623157e308,"1e400"]}]}`,
	`{"messages":[{"body":1,"ttl":60.5}]}`,
	`{"messages":[{"body":1,"ttl":"60"}]}`,
	`{"messages":[{"body":1,"ttl":99999999999999999999}]}`,
	`{"messages":[{"body":1,"ttl":-1}]}`,
	`{"messages":[{"body":1,"ttl":59}]}`,
	`{"messages":[{"body":1,"ttl":1209601}]}`,
	`{"messages":[{"body":1,"delay":-1}]}`,
	`{"messages":[{"body":1,"delay":"5"}]}`,
	`{"messages":[{"body":1,"delay":900}]}`,
	`{"messages":[{"ttl":60}]}`,
	`{"messages":[{"body":1},2]}`,
	`{"messages":[{"body":1},[]]}`,
	`{"messages":[{"ttl":60},{"ttl":"x"}]}`,
	`{"messages":{"body":1}}`,
	`{"messages":"x"}`,
	`{"messages":null}`,
	`{"messages":[]}`,
	`{"messages":[ ]}`,
	`{}`,
	`{ }`,
	`[{"body":1}]`,
	`[]`,
	`"x"`,
	`1`,
	``,
	`{"messages": [`,
	`{"messages":[{"body":1}]`,
	`{"messages":[{"body":1}]}}`,
	`{"Messages":[{"body":1}]}`,
	`{"messages":[{"Body":1}]}`,
	`{"other":{"messages":[{"body":1}]},"messages":[{"body":{"nested":{"deep":[1,{"x":"]}"}]}}}]}`,
}

func TestParseMessagesMatchesMapDecoding(t *testing.T) {
	for _, meta := range []zaqar.Metadata{nil, {"_default_message_delay": json.Number("10")}, {"_default_message_ttl": json.Number("90")}} {
		s := New(nil, Options{Limits: zaqar.DefaultLimits()})
		for _, doc := range postDocs {
			comparePost(t, s, meta, []byte(doc))
		}
	}
	s := New(nil, Options{Limits: zaqar.DefaultLimits()})
	if got, err := s.parseMessages(nil, nil, "c"); err != errEmptyBody || got != nil {
		t.Errorf("nil body: %v %v", got, err)
	}
}

func FuzzParseMessages(f *testing.F) {
	for _, doc := range postDocs {
		f.Add(doc)
	}
	s := New(nil, Options{Limits: zaqar.DefaultLimits()})
	delayed := zaqar.Metadata{"_default_message_delay": json.Number("10")}
	f.Fuzz(func(t *testing.T, doc string) {
		comparePost(t, s, nil, []byte(doc))
		comparePost(t, s, delayed, []byte(doc))
	})
}

func comparePost(t *testing.T, s *Service, meta zaqar.Metadata, doc []byte) {
	t.Helper()
	want, wantErr := s.parseMessagesByMaps(meta, bytes.Clone(doc), "c")
	got, gotErr := s.parseMessages(meta, bytes.Clone(doc), "c")
	if !reflect.DeepEqual(errText(gotErr), errText(wantErr)) {
		t.Fatalf("%q: error %v, want %v", doc, gotErr, wantErr)
	}
	if wantErr != nil {
		return
	}
	if len(got) != len(want) {
		t.Fatalf("%q: %d messages, want %d", doc, len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i].Body, want[i].Body) || got[i].TTL != want[i].TTL || got[i].Delay != want[i].Delay || got[i].ClientID != want[i].ClientID || got[i].Checksum != want[i].Checksum {
			t.Fatalf("%q: message %d = %+v (%s), want %+v (%s)", doc, i, got[i], got[i].Body, want[i], want[i].Body)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func BenchmarkParseMessages(b *testing.B) {
	s := New(nil, Options{Limits: zaqar.DefaultLimits()})
	doc := []byte(`{"messages":[{"ttl":300,"body":{"event":"BackupStarted","backup_id":"c378813c-3f0b-11e2-ad92-7823d2b0f3ce","seq":` + strings.Repeat("1", 5) + `}}]}`)
	for _, bc := range []struct {
		name string
		f    func(zaqar.Metadata, []byte, string) ([]zaqar.NewMessage, error)
	}{{"walk", s.parseMessages}, {"maps", s.parseMessagesByMaps}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.f(nil, doc, "c"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
