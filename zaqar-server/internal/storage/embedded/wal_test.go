package embedded

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// TestBatchRoundTrip encodes one change of every kind as a log record and
// decodes it back unchanged.
func TestBatchRoundTrip(t *testing.T) {
	q := zaqar.QueueRef{Project: "p", Name: "q"}
	changes := []memory.Change{
		{Op: memory.PutQueue, Queue: q, Meta: zaqar.Metadata{"_max_messages_post_size": float64(1024), "k": "v"}},
		{Op: memory.PutMessages, Queue: q, Counter: 7, Messages: []memory.MessageRecord{
			{ID: "m1", Marker: 6, Body: json.RawMessage(`{"a":1}`), TTL: time.Hour, Created: 1, Expires: 2, ClientID: "c", ClaimCount: 1, ClaimID: "cl"},
			{ID: "m2", Marker: 7, Body: json.RawMessage(`""`), TTL: time.Minute, Created: 3, Expires: 4, DelayUntil: 5, Checksum: "MD5:x"},
		}},
		{Op: memory.DeleteMessages, Queue: q, Markers: []int64{6, 7}},
		{Op: memory.PutClaim, Queue: q, Claim: memory.ClaimRecord{ID: "cl", TTL: time.Minute, Grace: time.Second, Expires: 9}},
		{Op: memory.DeleteClaim, Queue: q, ID: "cl"},
		{Op: memory.PutSubscription, Subscription: memory.SubscriptionRecord{Queue: q, ID: "s", Subscriber: "http://x", TTL: time.Hour,
			Start: 1, Expires: 2, Options: map[string]any{"o": "v"}, Confirmed: true}},
		{Op: memory.DeleteSubscription, Queue: q, ID: "s"},
		{Op: memory.DeleteQueue, Queue: q},
	}
	b, err := appendBatch(nil, changes)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	// Metadata comes back as JSON decodes it: compare it encoded.
	again, err := appendBatch(nil, got)
	if err != nil || string(again) != string(b) {
		t.Errorf("re-encoded batch differs (%v)", err)
	}
	if !reflect.DeepEqual(got[1:], changes[1:]) {
		t.Errorf("decoded\n%+v\nwant\n%+v", got[1:], changes[1:])
	}
	if _, err := decodeBatch(b[:len(b)-1]); err == nil {
		t.Error("a truncated batch decoded")
	}
}

// walFixture is a bbolt file with its buckets and a log next to it, as
// Open leaves them.
func walFixture(t *testing.T) (*bbolt.DB, string) {
	t.Helper()
	dir := t.TempDir()
	db, err := bbolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := load(db, memory.New(), 0); err != nil {
		t.Fatal(err)
	}
	return db, filepath.Join(dir, FileName+walSuffix)
}

func putMessage(q zaqar.QueueRef, marker int64) []memory.Change {
	return []memory.Change{{Op: memory.PutMessages, Queue: q, Counter: marker, Messages: []memory.MessageRecord{
		{ID: "m" + string(rune('0'+marker)), Marker: marker, Body: json.RawMessage(`1`), TTL: time.Hour, Created: 1}}}}
}

func messagesIn(t *testing.T, db *bbolt.DB, q zaqar.QueueRef) int {
	t.Helper()
	n := 0
	db.View(func(tx *bbolt.Tx) error {
		if mb := nested(tx.Bucket(bucketQueues), q, bucketMsgs); mb != nil {
			n = mb.Stats().KeyN
		}
		return nil
	})
	return n
}

// TestWALReplay: a crash (the log closed without a checkpoint) leaves the
// acknowledged batches in the log and Open's replay puts them in bbolt; a
// torn last record was never acknowledged and is dropped; records of an
// older generation are never replayed again.
func TestWALReplay(t *testing.T) {
	db, path := walFixture(t)
	q := zaqar.QueueRef{Project: "p", Name: "q"}
	w, err := openWAL(path, db)
	if err != nil {
		t.Fatal(err)
	}
	for m := int64(1); m <= 3; m++ {
		if err := w.append(putMessage(q, m)); err != nil {
			t.Fatal(err)
		}
	}
	// The third record torn: its last byte never reached the disk.
	if _, err := w.f.WriteAt([]byte{0xEE}, w.off-1); err != nil {
		t.Fatal(err)
	}
	w.f.Close()
	if n := messagesIn(t, db, q); n != 0 {
		t.Fatalf("bbolt holds %d messages before replay, want 0 (only the log has them)", n)
	}

	w, err = openWAL(path, db)
	if err != nil {
		t.Fatal(err)
	}
	if n := messagesIn(t, db, q); n != 2 {
		t.Errorf("after replay bbolt holds %d messages, want the 2 intact records'", n)
	}
	// The new generation overwrites the start of the old one; what is left
	// of the old records further on must not come back.
	del := []memory.Change{{Op: memory.DeleteMessages, Queue: q, Markers: []int64{1, 2}}}
	if err := w.append(del); err != nil {
		t.Fatal(err)
	}
	w.f.Close()
	w, err = openWAL(path, db)
	if err != nil {
		t.Fatal(err)
	}
	defer w.f.Close()
	if n := messagesIn(t, db, q); n != 0 {
		t.Errorf("after the second replay bbolt holds %d messages, want 0 (deleted; older records replayed again?)", n)
	}
}

// TestWALCorruptRecord: an intact record (its CRC matches) that cannot be
// decoded stops Open instead of being skipped.
func TestWALCorruptRecord(t *testing.T) {
	db, path := walFixture(t)
	w, err := openWAL(path, db)
	if err != nil {
		t.Fatal(err)
	}
	w.buf = nil
	bad := []byte{1, 0xFF} // one change of an unknown kind
	rec := make([]byte, 8, 8+len(bad))
	rec = append(rec, bad...)
	putU32 := func(b []byte, v uint32) { b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24) }
	putU32(rec, uint32(len(bad)))
	putU32(rec[4:], recordCRC(w.gen, bad))
	if _, err := w.f.WriteAt(rec, w.off); err != nil {
		t.Fatal(err)
	}
	w.f.Close()
	if _, err := openWAL(path, db); err == nil || !strings.Contains(err.Error(), "replay") {
		t.Errorf("openWAL over a corrupt record = %v, want a replay error", err)
	}
}

// TestCheckpoint: past the threshold the log's batches go to bbolt and the
// log starts over.
func TestCheckpoint(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	q := zaqar.QueueRef{Project: "p", Name: "q"}
	post(t, s, q, 1, time.Hour)
	// 24 MiB posted: a log never started over would be at least as long.
	big := strings.Repeat("x", 60<<10)
	for range 24 << 20 / len(big) {
		if _, err := s.Messages().Post(t.Context(), q, []zaqar.NewMessage{{Body: json.RawMessage(`"` + big + `"`), TTL: time.Hour}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, FileName+walSuffix))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > walCheckpoint+2*walExtend {
		t.Errorf("log is %d bytes after a checkpoint, want it reused from the start", fi.Size())
	}
	if msgs, _, _ := counts(t, filepath.Join(dir, FileName)); msgs < 2 {
		t.Errorf("bbolt holds %d messages after checkpoints and Close", msgs)
	}
}

// FuzzDecodeBatch: a log record that passed its CRC but is not one we
// wrote (a bug, a disk returning other bytes) is an error, never a panic
// or an allocation the size of a length it claims; what decodes encodes
// back to a record that decodes the same.
func FuzzDecodeBatch(f *testing.F) {
	q := zaqar.QueueRef{Project: "p", Name: "q"}
	for _, changes := range [][]memory.Change{
		{{Op: memory.PutQueue, Queue: q, Meta: zaqar.Metadata{"k": "v"}}},
		{{Op: memory.PutMessages, Queue: q, Counter: 2, Messages: []memory.MessageRecord{
			{ID: "m1", Marker: 1, Body: json.RawMessage(`{"a":1}`), TTL: time.Hour, Created: 1, Expires: 2}}}},
		{{Op: memory.DeleteMessages, Queue: q, Markers: []int64{1, 2}}, {Op: memory.DeleteClaim, Queue: q, ID: "c"}},
		{{Op: memory.PutClaim, Queue: q, Claim: memory.ClaimRecord{ID: "c", TTL: time.Minute, Expires: 9}}},
		{{Op: memory.PutSubscription, Subscription: memory.SubscriptionRecord{Queue: q, ID: "s", Subscriber: "http://x", TTL: time.Hour}}},
	} {
		b, err := appendBatch(nil, changes)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f})
	f.Fuzz(func(t *testing.T, payload []byte) {
		changes, err := decodeBatch(payload)
		if err != nil {
			return
		}
		b, err := appendBatch(nil, changes)
		if err != nil {
			t.Fatalf("decoded %+v, which does not encode: %v", changes, err)
		}
		again, err := decodeBatch(b)
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if !reflect.DeepEqual(again, changes) {
			t.Fatalf("round trip changed the batch:\n%+v\n%+v", changes, again)
		}
	})
}
