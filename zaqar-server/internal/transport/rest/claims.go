package rest

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/zaqar-go/suite/zaqar-server/internal/transport"
)

// claimBodyLimit bounds claim documents, which hold two integers.
const claimBodyLimit = 64 * 1024

func (h *handler) createClaim(w http.ResponseWriter, r *http.Request) {
	limit, err := paramInt(r, "limit")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	wait, err := paramInt(r, "wait") // long polling, an extension
	if err != nil {
		h.fail(w, r, err)
		return
	}
	body, err := readBody(r, claimBodyLimit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	c, msgs, err := h.svc.CreateClaim(r.Context(), queueOf(r), body, limit, wait)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if c.ID == "" || len(msgs) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Location", r.URL.Path+"/"+c.ID)
	writeJSON(w, http.StatusCreated, map[string]any{"messages": messagesOut(queueBase(r), msgs)})
}

func (h *handler) getClaim(w http.ResponseWriter, r *http.Request) {
	c, msgs, err := h.svc.GetClaim(r.Context(), queueOf(r), chi.URLParam(r, "claim"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"age":      transport.Seconds(c.Age),
		"ttl":      transport.Seconds(c.TTL),
		"href":     r.URL.Path,
		"messages": messagesOut(queueBase(r), msgs),
	})
}

func (h *handler) updateClaim(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r, claimBodyLimit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.svc.UpdateClaim(r.Context(), queueOf(r), chi.URLParam(r, "claim"), body); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) deleteClaim(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteClaim(r.Context(), queueOf(r), chi.URLParam(r, "claim")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
