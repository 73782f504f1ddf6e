package rest

import (
	"net/http"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

type queueDoc struct {
	Name     string         `json:"name"`
	Href     string         `json:"href"`
	Metadata zaqar.Metadata `json:"metadata,omitempty"`
}

// queueListParams are the recognised parameters; every other one is a
// metadata filter (zaqar/transport/wsgi/v2_0/queues.py CollectionResource).
var queueListParams = map[string]bool{"marker": true, "limit": true, "detailed": true, "name": true, "with_count": true}

func (h *handler) listQueues(w http.ResponseWriter, r *http.Request) {
	var p service.QueueListParams
	var next query
	var err error
	if p.Marker, p.Limit, p.Detailed, err = detailedPage(r, &next); err != nil {
		h.fail(w, r, err)
		return
	}
	if n, ok := param(r, "name"); ok {
		p.Name = n
		next.set("name", n)
	}
	withCount, ok, err := paramBool(r, "with_count")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p.WithCount = withCount; ok {
		next.set("with_count", boolStr(withCount))
	}
	for k := range r.URL.Query() {
		if v, ok := param(r, k); ok && !queueListParams[k] {
			if p.Filter == nil {
				p.Filter = map[string]string{}
			}
			p.Filter[k] = v
		}
	}
	page, err := h.svc.ListQueues(r.Context(), projectOf(r), p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	docs := make([]queueDoc, len(page.Queues))
	for i, q := range page.Queues {
		docs[i] = queueDoc{Name: q.Name, Href: r.URL.Path + "/" + q.Name, Metadata: q.Metadata}
		if p.Detailed && q.Metadata == nil {
			docs[i].Metadata = zaqar.Metadata{}
		}
	}
	links := []link{}
	if len(docs) > 0 {
		next.set("marker", docs[len(docs)-1].Name)
		// Unlike Zaqar we keep metadata filters in the next link, so paging a
		// filtered listing stays filtered.
		for k, v := range p.Filter {
			next.set(k, v)
		}
		links = append(links, link{Rel: "next", Href: r.URL.Path + next.String()})
	}
	key := "queues"
	if isTopic(r) {
		key = "topics"
	}
	body := map[string]any{key: docs, "links": links}
	if page.Count > 0 && !isTopic(r) {
		body["count"] = page.Count
	}
	if p.Detailed {
		// metadata must be present (even empty) in a detailed listing.
		out := make([]map[string]any, len(docs))
		for i, d := range docs {
			out[i] = map[string]any{"name": d.Name, "href": d.Href, "metadata": d.Metadata}
		}
		body[key] = out
	}
	writeJSON(w, http.StatusOK, body)
}

func (h *handler) createQueue(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > 0 {
		if err := h.svc.CheckQueueMetadataSize(r.ContentLength); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	body, err := readBody(r, h.limits.MaxQueueMetadata)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(body) == 0 && r.ContentLength <= 0 {
		body = nil // no metadata document
	}
	created, err := h.svc.CreateQueue(r.Context(), queueOf(r), body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", r.URL.Path)
	if created {
		w.WriteHeader(http.StatusCreated)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) getQueue(w http.ResponseWriter, r *http.Request) {
	meta, err := h.svc.QueueMetadata(r.Context(), queueOf(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, meta)
}

const patchMediaType = "application/openstack-messaging-v2.0-json-patch"

func (h *handler) patchQueue(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > h.limits.MaxQueueMetadata {
		h.fail(w, r, zaqar.BadBodyf("Queue metadata is too large. Max size: %d", h.limits.MaxQueueMetadata))
		return
	}
	if r.Header.Get("Content-Type") != patchMediaType {
		// Zaqar 15 sends the explanation as the title, with no description.
		h.fail(w, r, &zaqar.Error{Kind: zaqar.Unsupported,
			Title: "Accepted media type for PATCH: {'Accept-Patch': '" + patchMediaType + "'}."})
		return
	}
	body, err := readBody(r, h.limits.MaxQueueMetadata)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if int64(len(body)) > h.limits.MaxQueueMetadata {
		h.fail(w, r, zaqar.BadBodyf("Queue metadata is too large. Max size: %d", h.limits.MaxQueueMetadata))
		return
	}
	meta, err := h.svc.PatchQueue(r.Context(), queueOf(r), body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, meta)
}

func (h *handler) deleteQueue(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteQueue(r.Context(), queueOf(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) queueStats(w http.ResponseWriter, r *http.Request) {
	st, err := h.svc.QueueStats(r.Context(), queueOf(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	base := queueBase(r)
	msgs := map[string]any{"claimed": st.Claimed, "free": st.Free, "total": st.Total}
	stat := func(m *zaqar.MessageStat) transport.MessageStat {
		d := transport.MessageStatOf(m)
		d.Href = base + "/messages/" + m.ID
		return d
	}
	if st.Total > 0 && st.Oldest != nil && st.Newest != nil {
		msgs["oldest"], msgs["newest"] = stat(st.Oldest), stat(st.Newest)
	}
	if isTopic(r) && st.Total > 0 {
		// Topics have no claims: Zaqar reports the total only.
		delete(msgs, "claimed")
		delete(msgs, "free")
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": msgs})
}

func (h *handler) purgeQueue(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r, h.limits.MaxQueueMetadata)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	types, err := service.ParsePurge(body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.svc.PurgeQueue(r.Context(), queueOf(r), types); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// queueBase is /v2/queues/{name} (or /v2/topics/{name}) of the request.
func queueBase(r *http.Request) string { return queueOf(r).Path() }

// shareQueue creates a pre-signed URL (200, not 201, as in Zaqar).
func (h *handler) shareQueue(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r, h.limits.MaxQueueMetadata)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	signed, err := h.svc.Share(queueOf(r), body, time.Now())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, signed)
}
