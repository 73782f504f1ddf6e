package embedded

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"go.etcd.io/bbolt"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// The write-ahead log in front of the bbolt file. A bbolt commit costs two
// fdatasyncs (pages, then the meta page), writes every dirty page and
// rebalances the tree: under 16 concurrent producers it took a third of the
// server's CPU, paid by every group of about seven posts. The journal
// instead appends each batch to this log with one write and one fdatasync
// and acknowledges it; the batches are applied to bbolt in one transaction
// once the log passes walCheckpoint bytes (and at Close), after which the
// log starts over. Open replays the log into bbolt first, so the file pair
// always reads as every acknowledged change.
//
// Layout: a 16-byte header (walMagic, then the generation, little endian),
// then records: length (uint32), CRC-32C of generation and payload
// (uint32), payload. Starting over writes the header with the next
// generation, so records of an older generation left further on no longer
// match their CRC and replay stops there, as it does at a torn record or at
// the zeros the file is extended with. The space ahead is written (with
// zeros) before it is used, so an append's fdatasync has only data to
// flush, not the file's size.

const (
	walMagic      = "zaqarWAL"
	walHeaderSize = 16
	// Apply to bbolt and start over past this many bytes. Writers wait
	// while a checkpoint runs: 8 MiB held them up to 400-470 ms under 16
	// producers, 1 MiB up to 50-76 ms, at the same throughput.
	walCheckpoint = 1 << 20
	walExtend     = 4 << 20 // zeros written ahead at a time
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

type wal struct {
	f    *os.File
	gen  uint64
	off  int64 // where the next record goes
	size int64 // bytes written ahead (zeros or records)
	buf  []byte
}

// openWAL opens (or creates) the log at path and replays what it holds
// into db. It then starts a new generation, so the log is empty and
// everything in it is in db.
func openWAL(path string, db *bbolt.DB) (*wal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	w := &wal{f: f}
	if err := w.replay(db); err != nil {
		f.Close()
		return nil, fmt.Errorf("replay %s: %w", path, err)
	}
	if err := w.restart(); err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

// replay applies the current generation's intact records to db, in one
// transaction.
func (w *wal) replay(db *bbolt.DB) error {
	data, err := io.ReadAll(io.NewSectionReader(w.f, 0, 1<<62))
	if err != nil {
		return err
	}
	w.size = int64(len(data))
	if len(data) < walHeaderSize || string(data[:8]) != walMagic {
		return nil // new, or never got past its first header
	}
	w.gen = binary.LittleEndian.Uint64(data[8:16])
	var batches [][]memory.Change
	for off := walHeaderSize; off+8 <= len(data); {
		n := int(binary.LittleEndian.Uint32(data[off:]))
		sum := binary.LittleEndian.Uint32(data[off+4:])
		if n == 0 || off+8+n > len(data) {
			break
		}
		payload := data[off+8 : off+8+n]
		if recordCRC(w.gen, payload) != sum {
			break // torn, or an older generation's
		}
		changes, err := decodeBatch(payload)
		if err != nil {
			// An intact record we cannot read: refuse to guess.
			return fmt.Errorf("record at %d: %w", off, err)
		}
		batches = append(batches, changes)
		off += 8 + n
	}
	if len(batches) == 0 {
		return nil
	}
	return db.Update(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketQueues, bucketSubs} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		for _, b := range batches {
			for _, c := range b {
				if err := apply(tx, c); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func recordCRC(gen uint64, payload []byte) uint32 {
	var g [8]byte
	binary.LittleEndian.PutUint64(g[:], gen)
	return crc32.Update(crc32.Checksum(g[:], crcTable), crcTable, payload)
}

// restart begins the next generation: the header is written and synced
// before any record of it.
func (w *wal) restart() error {
	w.gen++
	var h [walHeaderSize]byte
	copy(h[:], walMagic)
	binary.LittleEndian.PutUint64(h[8:], w.gen)
	w.off = walHeaderSize
	if err := w.ensure(walHeaderSize); err != nil {
		return err
	}
	if _, err := w.f.WriteAt(h[:], 0); err != nil {
		return err
	}
	return fdatasync(w.f)
}

// ensure writes zeros ahead so that the file holds off+n bytes, synced.
func (w *wal) ensure(n int) error {
	need := w.off + int64(n)
	if need <= w.size {
		return nil
	}
	grow := max(need-w.size, walExtend)
	if _, err := w.f.WriteAt(make([]byte, grow), w.size); err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil { // the new size too
		return err
	}
	w.size += grow
	return nil
}

// append writes one batch as a record and syncs it.
func (w *wal) append(changes []memory.Change) error {
	b := append(w.buf[:0], make([]byte, 8)...)
	b, err := appendBatch(b, changes)
	if err != nil {
		return err
	}
	payload := b[8:]
	binary.LittleEndian.PutUint32(b, uint32(len(payload)))
	binary.LittleEndian.PutUint32(b[4:], recordCRC(w.gen, payload))
	if cap(b) <= 1<<20 {
		w.buf = b // reused; a rare huge batch is not kept
	}
	if err := w.ensure(len(b)); err != nil {
		return err
	}
	if _, err := w.f.WriteAt(b, w.off); err != nil {
		return err
	}
	if err := fdatasync(w.f); err != nil {
		return err
	}
	w.off += int64(len(b))
	return nil
}

// Change encoding: a count, then per change its Op and the fields that Op
// uses (memory.Change documents which), records in codec.go's encodings.

func appendBatch(b []byte, changes []memory.Change) ([]byte, error) {
	b = binary.AppendUvarint(b, uint64(len(changes)))
	for _, c := range changes {
		b = append(b, byte(c.Op))
		switch c.Op {
		case memory.PutQueue:
			meta, err := json.Marshal(c.Meta)
			if err != nil {
				return nil, err
			}
			b = appendBytes(appendRef(b, c.Queue), meta)
		case memory.DeleteQueue:
			b = appendRef(b, c.Queue)
		case memory.PutMessages:
			b = binary.AppendVarint(appendRef(b, c.Queue), c.Counter)
			b = binary.AppendUvarint(b, uint64(len(c.Messages)))
			for _, m := range c.Messages {
				b = binary.AppendVarint(b, m.Marker)
				b = appendBytes(b, encodeMessage(m))
			}
		case memory.DeleteMessages:
			b = binary.AppendUvarint(appendRef(b, c.Queue), uint64(len(c.Markers)))
			for _, m := range c.Markers {
				b = binary.AppendVarint(b, m)
			}
		case memory.PutClaim:
			b = appendString(appendRef(b, c.Queue), c.Claim.ID)
			b = appendBytes(b, encodeClaim(c.Claim))
		case memory.DeleteClaim, memory.DeleteSubscription:
			b = appendString(appendRef(b, c.Queue), c.ID)
		case memory.PutSubscription:
			v, err := encodeSub(c.Subscription)
			if err != nil {
				return nil, err
			}
			b = appendBytes(b, v)
		default:
			return nil, fmt.Errorf("embedded: unknown change %d", c.Op)
		}
	}
	return b, nil
}

func appendRef(b []byte, ref zaqar.QueueRef) []byte {
	return appendString(appendString(b, ref.Project), ref.Name)
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func decodeBatch(payload []byte) ([]memory.Change, error) {
	r := reader{b: payload}
	n := r.uvarint()
	if n > uint64(len(payload)) {
		return nil, errCorrupt
	}
	changes := make([]memory.Change, 0, n)
	for i := uint64(0); i < n && r.err == nil; i++ {
		c := memory.Change{Op: memory.Op(r.byte())}
		ref := func() zaqar.QueueRef { return zaqar.QueueRef{Project: r.string(), Name: r.string()} }
		switch c.Op {
		case memory.PutQueue:
			c.Queue = ref()
			meta, err := zaqar.DecodeMetadata(r.bytes(r.uvarint()))
			if err != nil && r.err == nil {
				return nil, fmt.Errorf("%w: metadata: %v", errCorrupt, err)
			}
			c.Meta = meta
		case memory.DeleteQueue:
			c.Queue = ref()
		case memory.PutMessages:
			c.Queue = ref()
			c.Counter = r.varint()
			k := r.uvarint()
			for j := uint64(0); j < k && r.err == nil; j++ {
				key := markerKey(r.varint())
				m, err := decodeMessage(key, r.bytes(r.uvarint()))
				if err != nil && r.err == nil {
					return nil, err
				}
				c.Messages = append(c.Messages, m)
			}
		case memory.DeleteMessages:
			c.Queue = ref()
			k := r.uvarint()
			for j := uint64(0); j < k && r.err == nil; j++ {
				c.Markers = append(c.Markers, r.varint())
			}
		case memory.PutClaim:
			c.Queue = ref()
			id := r.string()
			cl, err := decodeClaim([]byte(id), r.bytes(r.uvarint()))
			if err != nil && r.err == nil {
				return nil, err
			}
			c.Claim = cl
		case memory.DeleteClaim, memory.DeleteSubscription:
			c.Queue = ref()
			c.ID = r.string()
		case memory.PutSubscription:
			s, err := decodeSub(r.bytes(r.uvarint()))
			if err != nil && r.err == nil {
				return nil, err
			}
			c.Subscription = s
		default:
			return nil, fmt.Errorf("%w: unknown change %d", errCorrupt, c.Op)
		}
		changes = append(changes, c)
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	return changes, nil
}
