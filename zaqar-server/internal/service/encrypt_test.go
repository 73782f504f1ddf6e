package service

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// TestEncryptedQueue: bodies of an encrypted queue are sealed in the store
// (read directly, they never hold the plaintext) and come back decrypted
// through every read path; rotation keeps old bodies readable.
func TestEncryptedQueue(t *testing.T) {
	store := memory.New()
	s := New(store, Options{Limits: zaqar.DefaultLimits(), EncryptionKey: "first-key"})
	q := zaqar.QueueRef{Project: "p", Name: "secret"}
	meta, _ := ParseQueueMetadata([]byte(`{"_enable_encrypt_messages": true}`))
	if _, err := s.createQueueWith(t.Context(), q, meta); err != nil {
		t.Fatal(err)
	}
	secret := `{"card":"4111-1111-1111-1111"}`
	body := `{"messages":[{"body":` + secret + `},{"body":"plain words here"}]}`
	ids, err := s.PostMessages(t.Context(), Scope{Project: "p", ClientID: "c"}, q, []byte(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := store.Messages().Get(t.Context(), q, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw.Body, []byte("4111")) || !bytes.HasPrefix(raw.Body, []byte(sealedPrefix)) {
		t.Fatalf("stored body = %s", raw.Body)
	}
	got, err := s.GetMessage(t.Context(), q, ids[0])
	if err != nil || string(got.Body) != secret {
		t.Fatalf("GetMessage = %s, %v", got.Body, err)
	}
	page, _ := s.ListMessages(t.Context(), Scope{Project: "p", ClientID: "other"}, q, MessageListParams{})
	if len(page.Messages) != 2 || string(page.Messages[1].Body) != `"plain words here"` {
		t.Errorf("ListMessages = %+v", page.Messages)
	}
	_, claimed, _ := s.CreateClaim(t.Context(), q, nil, nil, nil)
	if len(claimed) != 2 || string(claimed[0].Body) != secret {
		t.Errorf("claimed bodies = %+v", claimed)
	}

	// Rotate: a new current key, the old one kept as previous.
	rotated := New(store, Options{Limits: zaqar.DefaultLimits(), EncryptionKey: "second-key", PreviousKeys: []string{"first-key"}})
	if got, err := rotated.GetMessage(t.Context(), q, ids[0]); err != nil || string(got.Body) != secret {
		t.Errorf("after rotation = %s, %v", got.Body, err)
	}
	// Without the old key the body stays sealed rather than failing.
	forgot := New(store, Options{Limits: zaqar.DefaultLimits(), EncryptionKey: "second-key"})
	if got, err := forgot.GetMessage(t.Context(), q, ids[0]); err != nil || !bytes.HasPrefix(got.Body, []byte(sealedPrefix)) {
		t.Errorf("with the key gone = %s, %v", got.Body, err)
	}
	// A tampered body does not open.
	var str string
	json.Unmarshal(raw.Body, &str)
	tampered, _ := json.Marshal(str[:len(str)-4] + "AAA=")
	if _, err := s.sealer.open(tampered); err == nil {
		t.Error("a tampered body opened")
	}
}
