package rest

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/zaqar-go/suite/zaqar-server/internal/transport"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// subscriptionBodyLimit bounds subscription documents (subscriber, ttl,
// options with headers and post_data).
const subscriptionBodyLimit = 64 * 1024

func (h *handler) listSubscriptions(w http.ResponseWriter, r *http.Request) {
	var next query
	marker, limit, err := page(r, &next)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	subs, err := h.svc.ListSubscriptions(r.Context(), queueOf(r), marker, limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	docs := make([]transport.Subscription, len(subs))
	for i, s := range subs {
		docs[i] = transport.SubscriptionOf(s)
	}
	links := []link{}
	if len(docs) > 0 {
		next.set("marker", docs[len(docs)-1].ID)
		links = append(links, link{Rel: "next", Href: r.URL.Path + next.String()})
	}
	writeJSON(w, http.StatusOK, map[string]any{"subscriptions": docs, "links": links})
}

func (h *handler) createSubscription(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r, subscriptionBodyLimit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	id, err := h.svc.CreateSubscription(r.Context(), scopeOf(r), queueOf(r), body)
	if err != nil {
		if zaqar.KindOf(err) == zaqar.Conflict {
			w.Header().Set("Location", r.URL.Path)
		}
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", r.URL.Path)
	writeJSON(w, http.StatusCreated, map[string]string{"subscription_id": id})
}

func (h *handler) getSubscription(w http.ResponseWriter, r *http.Request) {
	sub, err := h.svc.GetSubscription(r.Context(), queueOf(r), chi.URLParam(r, "subscription"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, transport.SubscriptionOf(sub))
}

func (h *handler) updateSubscription(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r, subscriptionBodyLimit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.svc.UpdateSubscription(r.Context(), scopeOf(r), queueOf(r), chi.URLParam(r, "subscription"), body); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", r.URL.Path)
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) deleteSubscription(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteSubscription(r.Context(), queueOf(r), chi.URLParam(r, "subscription")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) confirmSubscription(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r, subscriptionBodyLimit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.svc.ConfirmSubscription(r.Context(), queueOf(r), chi.URLParam(r, "subscription"), body); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", r.URL.Path)
	w.WriteHeader(http.StatusNoContent)
}
