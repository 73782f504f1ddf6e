package service

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// Queues with _enable_encrypt_messages store message bodies sealed with
// AES-256-GCM. A sealed body is a JSON string
//
//	"zaqar-enc:v1:<key id>:<base64 of nonce || ciphertext>"
//
// so every store keeps it like any body. The key is SHA-256 of the
// configured key string, as Zaqar derives its AES key from
// [transport] message_encryption_key; the key id (first 8 hex digits of
// SHA-256 of the key) names the key that sealed a body, so keys can be
// rotated: new posts use the current key, older bodies open with any key
// listed as previous. Zaqar's own format (AES-CBC over a Python pickle) is
// not read: it cannot be decoded without running Python.
const sealedPrefix = `"zaqar-enc:v1:`

type sealer struct {
	id   string
	aead map[string]cipher.AEAD // by key id, current and previous
	log  *slog.Logger
}

func newSealer(current string, previous []string, log *slog.Logger) (*sealer, error) {
	s := &sealer{aead: map[string]cipher.AEAD{}, log: log}
	for i, k := range append([]string{current}, previous...) {
		key := sha256.Sum256([]byte(k))
		idSum := sha256.Sum256(key[:])
		id := hex.EncodeToString(idSum[:4])
		block, err := aes.NewCipher(key[:])
		if err != nil {
			return nil, err
		}
		gcm, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		s.aead[id] = gcm
		if i == 0 {
			s.id = id
		}
	}
	return s, nil
}

// seal encrypts a body with the current key.
func (s *sealer) seal(body json.RawMessage) json.RawMessage {
	gcm := s.aead[s.id]
	nonce := make([]byte, gcm.NonceSize())
	rand.Read(nonce)
	out := gcm.Seal(nonce, nonce, body, []byte(s.id))
	return json.RawMessage(sealedPrefix + s.id + ":" + base64.StdEncoding.EncodeToString(out) + `"`)
}

// open decrypts a sealed body; any other body is returned as it is, so
// messages posted before encryption was turned on stay readable.
func (s *sealer) open(body json.RawMessage) (json.RawMessage, error) {
	if !bytes.HasPrefix(body, []byte(sealedPrefix)) {
		return body, nil
	}
	var str string
	if err := json.Unmarshal(body, &str); err != nil {
		return body, err
	}
	rest := str[len(sealedPrefix)-1:]
	if len(rest) < 10 || rest[8] != ':' {
		return body, fmt.Errorf("malformed sealed body")
	}
	id := rest[:8]
	gcm, ok := s.aead[id]
	if !ok {
		return body, fmt.Errorf("sealed with unknown key %s (add it to message_encryption_previous_keys)", id)
	}
	raw, err := base64.StdEncoding.DecodeString(rest[9:])
	if err != nil || len(raw) < gcm.NonceSize() {
		return body, fmt.Errorf("malformed sealed body")
	}
	plain, err := gcm.Open(nil, raw[:gcm.NonceSize()], raw[gcm.NonceSize():], []byte(id))
	if err != nil {
		return body, fmt.Errorf("sealed body does not open with key %s: %w", id, err)
	}
	return plain, nil
}

// encrypted reports whether a queue's metadata turns encryption on.
func encrypted(meta zaqar.Metadata) bool {
	v, _ := meta["_enable_encrypt_messages"].(bool)
	return v
}

// sealAll encrypts the bodies of msgs in place.
func (s *Service) sealAll(msgs []zaqar.NewMessage) {
	for i := range msgs {
		msgs[i].Body = s.sealer.seal(msgs[i].Body)
	}
}

// openAll decrypts sealed bodies in place. A body that cannot be opened
// (a key that was removed) is returned sealed, and the failure logged: the
// message is still there for its owner to delete.
func (s *Service) openAll(msgs []zaqar.Message) []zaqar.Message {
	for i := range msgs {
		if !bytes.HasPrefix(msgs[i].Body, []byte(sealedPrefix)) {
			continue
		}
		plain, err := s.sealer.open(msgs[i].Body)
		if err != nil {
			s.log.Error("cannot decrypt a message body", "message", msgs[i].ID, "err", err)
			continue
		}
		msgs[i].Body = plain
	}
	return msgs
}
