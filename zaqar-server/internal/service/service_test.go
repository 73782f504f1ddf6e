package service

import (
	"errors"
	"strings"
	"testing"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

func TestPythonUUID(t *testing.T) {
	cases := []struct {
		in   string
		want bool
	}{
		{"3381af92-2b9e-11e3-b191-71861300734c", true},
		{"3381AF92-2B9E-11E3-B191-71861300734C", true},
		{"3381af922b9e11e3b19171861300734c", true},
		{"{3381af92-2b9e-11e3-b191-71861300734c}", true},
		{"urn:uuid:3381af92-2b9e-11e3-b191-71861300734c", true},
		{"3381af92-2b9e-11e3-b191-71861300734", false},
		{"3381af92-2b9e-11e3-b191-71861300734g", false},
		{"", false},
		{"not-a-uuid", false},
	}
	for _, tc := range cases {
		if got := pythonUUID(tc.in); got != tc.want {
			t.Errorf("pythonUUID(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestClientIDModes(t *testing.T) {
	l := zaqar.DefaultLimits()
	l.ClientIDUUIDSafe = "off"
	s := New(nil, Options{Limits: l})
	if err := s.ValidateClientID("short"); zaqar.KindOf(err) != zaqar.Invalid {
		t.Errorf("off mode, short id: %v", err)
	}
	if err := s.ValidateClientID("any-string-of-length"); err != nil {
		t.Errorf("off mode, long enough id: %v", err)
	}
}

func TestDecodePointer(t *testing.T) {
	cases := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"/metadata/key", []string{"metadata", "key"}, false},
		{"/metadata/a~1b", []string{"metadata", "a/b"}, false},
		{"/metadata/a~0b", []string{"metadata", "a~b"}, false},
		{"metadata/key", nil, true},
		{"/metadata//key", nil, true},
		{"/metadata/", nil, true},
		{"/metadata/a~2", nil, true},
		{"/metadata/a~", nil, true},
	}
	for _, tc := range cases {
		got, err := decodePointer(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("decodePointer(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if !tc.wantErr && (len(got) != len(tc.want) || got[0] != tc.want[0] || got[1] != tc.want[1]) {
			t.Errorf("decodePointer(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestValidateReserved(t *testing.T) {
	s := New(nil, Options{Limits: zaqar.DefaultLimits()})
	cases := []struct {
		name string
		doc  string
		ok   bool
	}{
		{"empty", `{}`, true},
		{"plain keys", `{"a": 1, "_custom": "x"}`, true},
		{"ttl ok", `{"_default_message_ttl": 60}`, true},
		{"ttl low", `{"_default_message_ttl": 59}`, false},
		{"ttl string", `{"_default_message_ttl": "60"}`, false},
		{"ttl null", `{"_default_message_ttl": null}`, true},
		{"ttl float", `{"_default_message_ttl": 60.5}`, false},
		{"post size zero", `{"_max_messages_post_size": 0}`, false},
		{"post size big", `{"_max_messages_post_size": 262145}`, false},
		{"delay zero", `{"_default_message_delay": 0}`, true},
		{"delay big", `{"_default_message_delay": 901}`, false},
		{"claim count falsy string", `{"_max_claim_count": ""}`, true},
		{"claim count string", `{"_max_claim_count": "3"}`, false},
		{"dlq ttl low", `{"_dead_letter_queue_messages_ttl": 10}`, false},
		{"encrypt bool", `{"_enable_encrypt_messages": true}`, true},
		{"encrypt string", `{"_enable_encrypt_messages": "yes"}`, false},
		{"retry ok", `{"_retry_policy": {"minimum_delay": 1, "maximum_delay": 20, "retry_backoff_function": "geometric"}}`, true},
		{"retry not dict", `{"_retry_policy": [1]}`, false},
		{"retry bad fn", `{"_retry_policy": {"retry_backoff_function": "cubic"}}`, false},
		{"retry close delays", `{"_retry_policy": {"minimum_delay": 5, "maximum_delay": 10}}`, false},
		{"retry inverted", `{"_retry_policy": {"minimum_delay": 50, "maximum_delay": 10}}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			meta, err := ParseQueueMetadata([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			err = s.validateReserved(meta)
			if (err == nil) != tc.ok {
				t.Errorf("validateReserved(%s) = %v, want ok=%v", tc.doc, err, tc.ok)
			}
			var ze *zaqar.Error
			if err != nil && (!errors.As(err, &ze) || ze.Kind != zaqar.Invalid) {
				t.Errorf("validateReserved(%s) = %#v, want an Invalid *zaqar.Error", tc.doc, err)
			}
		})
	}
}

// TestSettingsFollowLocalChanges: the metadata cache of the hot paths
// never serves a setting this node has just changed.
func TestSettingsFollowLocalChanges(t *testing.T) {
	s := New(memory.New(), Options{Limits: zaqar.DefaultLimits()})
	q := zaqar.QueueRef{Project: "p", Name: "q"}
	post := func(body string) error {
		_, err := s.PostMessages(t.Context(), Scope{Project: "p", ClientID: "c"}, q, []byte(body), int64(len(body)))
		return err
	}
	big := `{"messages":[{"body":"` + strings.Repeat("x", 200) + `"}]}`
	if err := post(big); err != nil {
		t.Fatal(err)
	}
	body := `[{"op":"add","path":"/metadata/_max_messages_post_size","value":100}]`
	if _, err := s.PatchQueue(t.Context(), q, []byte(body)); err != nil {
		t.Fatal(err)
	}
	if err := post(big); zaqar.KindOf(err) != zaqar.Invalid {
		t.Errorf("post after lowering the size limit = %v, want Invalid", err)
	}
	if err := s.DeleteQueue(t.Context(), q); err != nil {
		t.Fatal(err)
	}
	if err := post(big); err != nil {
		t.Errorf("post after deleting the queue (limit gone) = %v", err)
	}
}
