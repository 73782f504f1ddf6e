package embedded

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// The file's layout (bbolt buckets):
//
//	info                      "version" -> formatVersion
//	queues/<queue key>/       one bucket per queue; its bbolt sequence is the marker counter
//	    "ref"                 project and name (the key may be a hash)
//	    "meta"                metadata, JSON
//	    msgs/<marker>         message record; marker as 8 bytes big-endian, so keys sort in queue order
//	    claims/<claim id>     claim record
//	subs/<queue key><id>      subscription record, JSON
//
// Records start with a version byte so the format can change without a
// migration of old records.
var (
	bucketInfo   = []byte("info")
	bucketQueues = []byte("queues")
	bucketSubs   = []byte("subs")
	bucketMsgs   = []byte("msgs")
	bucketClaims = []byte("claims")
	keyVersion   = []byte("version")
	keyRef       = []byte("ref")
	keyMeta      = []byte("meta")
)

const (
	formatVersion = 1
	recordVersion = 1
	// Keys longer than this are replaced by their hash, well inside bbolt's
	// 32 KiB key limit, so no project or queue name can make a write fail.
	maxPlainKey = 1024
)

var errCorrupt = errors.New("corrupt record")

// queueKey names a queue's bucket: both names length-prefixed so distinct
// refs never share a key. Over-long keys become 0xFF and a SHA-256 (33
// bytes); a plain key starting with 0xFF has a project of 255+ bytes and is
// longer than 33 bytes, so the two never collide.
func queueKey(ref zaqar.QueueRef) []byte {
	k := encodeRef(ref)
	if len(k) <= maxPlainKey {
		return k
	}
	sum := sha256.Sum256(k)
	return append([]byte{0xFF}, sum[:]...)
}

func encodeRef(ref zaqar.QueueRef) []byte {
	b := make([]byte, 0, 2*binary.MaxVarintLen64+len(ref.Project)+len(ref.Name))
	b = appendString(b, ref.Project)
	return appendString(b, ref.Name)
}

func decodeRef(b []byte) (zaqar.QueueRef, error) {
	r := reader{b: b}
	ref := zaqar.QueueRef{Project: r.string(), Name: r.string()}
	return ref, r.done()
}

// subKey is the queue's key followed by the id, which is itself length
// prefixed so (queue, id) pairs never share a key.
func subKey(ref zaqar.QueueRef, id string) []byte {
	return appendString(queueKey(ref), id)
}

func markerKey(m int64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), uint64(m))
}

func encodeMessage(m memory.MessageRecord) []byte {
	b := make([]byte, 0, 64+len(m.ID)+len(m.ClientID)+len(m.Checksum)+len(m.ClaimID)+len(m.Body))
	b = append(b, recordVersion)
	b = appendString(b, m.ID)
	b = binary.AppendVarint(b, int64(m.TTL))
	b = binary.AppendVarint(b, m.Created)
	b = binary.AppendVarint(b, m.Expires)
	b = binary.AppendVarint(b, m.DelayUntil)
	b = binary.AppendUvarint(b, uint64(max(m.ClaimCount, 0)))
	b = appendString(b, m.ClientID)
	b = appendString(b, m.Checksum)
	b = appendString(b, m.ClaimID)
	// Length+1 so a nil body (0) stays distinct from an empty one.
	if m.Body == nil {
		return binary.AppendUvarint(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(m.Body))+1)
	return append(b, m.Body...)
}

// decodeMessage copies what it keeps: bbolt's bytes are valid only inside
// the transaction.
func decodeMessage(key, b []byte) (memory.MessageRecord, error) {
	if len(key) != 8 {
		return memory.MessageRecord{}, errCorrupt
	}
	r := reader{b: b}
	if r.byte() != recordVersion {
		return memory.MessageRecord{}, fmt.Errorf("%w: unknown message record version", errCorrupt)
	}
	m := memory.MessageRecord{
		Marker:     int64(binary.BigEndian.Uint64(key)),
		ID:         r.string(),
		TTL:        time.Duration(r.varint()),
		Created:    r.varint(),
		Expires:    r.varint(),
		DelayUntil: r.varint(),
		ClaimCount: int(min(r.uvarint(), math.MaxInt32)),
		ClientID:   r.string(),
		Checksum:   r.string(),
		ClaimID:    r.string(),
	}
	if n := r.uvarint(); n > 0 {
		m.Body = json.RawMessage(r.bytes(n - 1))
	}
	return m, r.done()
}

func encodeClaim(c memory.ClaimRecord) []byte {
	b := make([]byte, 0, 1+3*binary.MaxVarintLen64)
	b = append(b, recordVersion)
	b = binary.AppendVarint(b, int64(c.TTL))
	b = binary.AppendVarint(b, int64(c.Grace))
	return binary.AppendVarint(b, c.Expires)
}

func decodeClaim(key, b []byte) (memory.ClaimRecord, error) {
	r := reader{b: b}
	if r.byte() != recordVersion {
		return memory.ClaimRecord{}, fmt.Errorf("%w: unknown claim record version", errCorrupt)
	}
	c := memory.ClaimRecord{
		ID:      string(key),
		TTL:     time.Duration(r.varint()),
		Grace:   time.Duration(r.varint()),
		Expires: r.varint(),
	}
	return c, r.done()
}

// subDoc is a subscription record. Options are kept as raw JSON and decoded
// with json.Number, like every document the store returns.
type subDoc struct {
	V          int             `json:"v"`
	Project    string          `json:"p"`
	Queue      string          `json:"q"`
	ID         string          `json:"id"`
	Subscriber string          `json:"s"`
	TTL        int64           `json:"t"`
	Start      int64           `json:"st"`
	Expires    int64           `json:"e"`
	Options    json.RawMessage `json:"o"`
	Confirmed  bool            `json:"c"`
}

func encodeSub(s memory.SubscriptionRecord) ([]byte, error) {
	opts, err := json.Marshal(s.Options)
	if err != nil {
		return nil, err
	}
	return json.Marshal(subDoc{
		V:          recordVersion,
		Project:    s.Queue.Project,
		Queue:      s.Queue.Name,
		ID:         s.ID,
		Subscriber: s.Subscriber,
		TTL:        int64(s.TTL),
		Start:      s.Start,
		Expires:    s.Expires,
		Options:    opts,
		Confirmed:  s.Confirmed,
	})
}

func decodeSub(b []byte) (memory.SubscriptionRecord, error) {
	var d subDoc
	if err := json.Unmarshal(b, &d); err != nil {
		return memory.SubscriptionRecord{}, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	if d.V != recordVersion {
		return memory.SubscriptionRecord{}, fmt.Errorf("%w: unknown subscription record version", errCorrupt)
	}
	opts, err := zaqar.DecodeOptions(d.Options)
	if err != nil {
		return memory.SubscriptionRecord{}, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	return memory.SubscriptionRecord{
		Queue:      zaqar.QueueRef{Project: d.Project, Name: d.Queue},
		ID:         d.ID,
		Subscriber: d.Subscriber,
		TTL:        time.Duration(d.TTL),
		Start:      d.Start,
		Expires:    d.Expires,
		Options:    opts,
		Confirmed:  d.Confirmed,
	}, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// reader decodes a record; the first error sticks and later reads return zeros.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() { r.err, r.b = errCorrupt, nil }

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// bytes returns a copy of the next n bytes.
func (r *reader) bytes(n uint64) []byte {
	if n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	out := append(make([]byte, 0, n), r.b[:n]...)
	r.b = r.b[n:]
	return out
}

func (r *reader) string() string { return string(r.bytes(r.uvarint())) }

// done reports a decoding error or trailing bytes.
func (r *reader) done() error {
	if r.err == nil && len(r.b) > 0 {
		return errCorrupt
	}
	return r.err
}
