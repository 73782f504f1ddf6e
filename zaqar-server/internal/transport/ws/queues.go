package ws

import (
	"context"
	"net/http"

	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// queueDoc is a queue in a listing: no href, metadata only when detailed.
type queueDoc struct {
	Name     string          `json:"name"`
	Metadata *zaqar.Metadata `json:"metadata,omitempty"`
}

func queueList(ctx context.Context, c *conn, sc service.Scope, _ zaqar.QueueRef, r *request) response {
	detailed := r.boolean("detailed")
	qs, err := c.s.svc.ListStoredQueues(ctx, sc.Project, r.str("marker"), r.integer("limit"), detailed)
	if err != nil {
		return c.fail(r, err)
	}
	docs := make([]queueDoc, len(qs))
	for i, q := range qs {
		docs[i].Name = q.Name
		if detailed {
			meta := q.Metadata
			if meta == nil {
				meta = zaqar.Metadata{}
			}
			docs[i].Metadata = &meta
		}
	}
	return response{status: http.StatusOK, body: map[string]any{"queues": docs}}
}

func queueCreate(ctx context.Context, c *conn, _ service.Scope, q zaqar.QueueRef, r *request) response {
	// Zaqar measures the metadata's Python repr; the service measures its
	// JSON.
	var doc []byte
	if raw, ok := r.body["metadata"]; ok && kindOf(raw) != kindNull {
		doc = raw
	}
	created, err := c.s.svc.CreateQueue(ctx, q, doc)
	if err != nil {
		return c.fail(r, err)
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusNoContent
	}
	return response{status: status, body: "Queue " + q.Name + " created."}
}

func queueDelete(ctx context.Context, c *conn, _ service.Scope, q zaqar.QueueRef, r *request) response {
	if err := c.s.svc.DeleteQueue(ctx, q); err != nil {
		return c.fail(r, err)
	}
	return response{status: http.StatusNoContent, body: "Queue " + q.Name + " removed."}
}

// queueGet answers the stored metadata, without reserved defaults, and {}
// for a missing queue, as Zaqar's queue_get does.
func queueGet(ctx context.Context, c *conn, _ service.Scope, q zaqar.QueueRef, r *request) response {
	meta, err := c.s.svc.StoredQueueMetadata(ctx, q)
	if err != nil {
		return c.fail(r, err)
	}
	if meta == nil {
		meta = zaqar.Metadata{}
	}
	return response{status: http.StatusOK, body: meta}
}

// queueGetStats answers a missing queue with 404 and zero counts, unlike
// HTTP (endpoints.py queue_get_stats).
func queueGetStats(ctx context.Context, c *conn, _ service.Scope, q zaqar.QueueRef, r *request) response {
	st, exists, err := c.s.svc.QueueStatsIfExists(ctx, q)
	if err != nil {
		return c.fail(r, err)
	}
	msgs := map[string]any{"claimed": st.Claimed, "free": st.Free, "total": st.Total}
	if !exists {
		return response{status: http.StatusNotFound, body: map[string]any{"messages": msgs}}
	}
	stat := func(m *zaqar.MessageStat) transport.MessageStat {
		d := transport.MessageStatOf(m)
		d.ID = m.ID
		return d
	}
	if st.Total > 0 && st.Oldest != nil && st.Newest != nil {
		msgs["oldest"], msgs["newest"] = stat(st.Oldest), stat(st.Newest)
	}
	return response{status: http.StatusOK, body: map[string]any{"messages": msgs}}
}

// queuePurge empties the queue; unlike Zaqar, resource_types values are
// checked ("messages", "subscriptions") as over HTTP.
func queuePurge(ctx context.Context, c *conn, _ service.Scope, q zaqar.QueueRef, r *request) response {
	types, err := service.ParsePurge(r.doc("resource_types"))
	if err != nil {
		return c.fail(r, err)
	}
	if err := c.s.svc.PurgeQueue(ctx, q, types); err != nil {
		return c.fail(r, err)
	}
	return response{status: http.StatusNoContent, body: emptyObject}
}
