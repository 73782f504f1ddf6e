package rest

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// messageDoc is a message as the HTTP API shows it.
type messageDoc struct {
	ID       string          `json:"id"`
	Href     string          `json:"href"`
	TTL      int64           `json:"ttl"`
	Age      int64           `json:"age"`
	Body     json.RawMessage `json:"body"`
	Checksum string          `json:"checksum,omitempty"`
}

func messageOut(base string, m zaqar.Message) messageDoc {
	href := base + "/messages/" + m.ID
	if m.ClaimID != "" {
		href += "?claim_id=" + escapeQuery(m.ClaimID)
	}
	body := m.Body
	if len(body) == 0 {
		body = json.RawMessage("null")
	}
	return messageDoc{ID: m.ID, Href: href, TTL: transport.Seconds(m.TTL), Age: transport.Seconds(m.Age), Body: body, Checksum: m.Checksum}
}

func messagesOut(base string, msgs []zaqar.Message) []messageDoc {
	out := make([]messageDoc, len(msgs))
	for i, m := range msgs {
		out[i] = messageOut(base, m)
	}
	return out
}

func (h *handler) postMessages(w http.ResponseWriter, r *http.Request) {
	// Zaqar judges the size by Content-Length before reading the body.
	var body []byte
	size := r.ContentLength
	if size <= h.limits.MaxMessagesPostSize {
		var err error
		if body, err = readBody(r, h.limits.MaxMessagesPostSize); err != nil {
			h.fail(w, r, err)
			return
		}
		size = max(size, int64(len(body)))
	}
	ids, err := h.svc.PostMessages(r.Context(), scopeOf(r), queueOf(r), body, size)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hrefs := make([]string, len(ids))
	for i, id := range ids {
		hrefs[i] = r.URL.Path + "/" + id
	}
	w.Header().Set("Location", r.URL.Path+"?ids="+strings.Join(ids, ","))
	writeJSON(w, http.StatusCreated, struct {
		Resources []string `json:"resources"`
	}{hrefs})
}

func (h *handler) listMessages(w http.ResponseWriter, r *http.Request) {
	if ids := paramList(r, "ids"); ids != nil {
		msgs, err := h.svc.GetMessages(r.Context(), queueOf(r), ids)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"messages": messagesOut(queueBase(r), msgs)})
		return
	}
	var p service.MessageListParams
	var next query
	var err error
	if p.Marker, p.Limit, err = page(r, &next); err != nil {
		h.fail(w, r, err)
		return
	}
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"echo", &p.Echo}, {"include_claimed", &p.IncludeClaimed}, {"include_delayed", &p.IncludeDelayed}} {
		v, ok, err := paramBool(r, b.name)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if *b.dst = v; ok {
			next.set(b.name, boolStr(v))
		}
	}
	// Long polling (an extension); not repeated in the next link, which
	// stays as Zaqar builds it.
	if p.Wait, err = paramInt(r, "wait"); err != nil {
		h.fail(w, r, err)
		return
	}
	page, err := h.svc.ListMessages(r.Context(), scopeOf(r), queueOf(r), p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	links := []link{}
	if n := len(page.Messages); n > 0 {
		if page.DelayIgnored {
			next.set("include_delayed", "true")
		}
		next.set("marker", page.Messages[n-1].Marker)
		links = append(links, link{Rel: "next", Href: r.URL.Path + next.String()})
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": messagesOut(queueBase(r), page.Messages), "links": links})
}

func (h *handler) getMessage(w http.ResponseWriter, r *http.Request) {
	m, err := h.svc.GetMessage(r.Context(), queueOf(r), chi.URLParam(r, "message"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, messageOut(queueBase(r), m))
}

func (h *handler) deleteMessage(w http.ResponseWriter, r *http.Request) {
	claimID, _ := param(r, "claim_id")
	if err := h.svc.DeleteMessage(r.Context(), queueOf(r), chi.URLParam(r, "message"), claimID); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) deleteMessages(w http.ResponseWriter, r *http.Request) {
	p := service.DeleteParams{IDs: paramList(r, "ids")}
	if h.limits.MessageDeleteWithClaimID {
		p.ClaimIDs = paramList(r, "claim_ids")
	}
	var err error
	if p.Pop, err = paramInt(r, "pop"); err != nil {
		h.fail(w, r, err)
		return
	}
	popped, err := h.svc.DeleteMessages(r.Context(), queueOf(r), p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p.IDs != nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": transport.PoppedOf(popped)})
}
