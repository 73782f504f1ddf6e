package rest

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// maxAdminDoc bounds pool and flavor documents; Zaqar sets no limit.
const maxAdminDoc = 64 << 10

// poolRoutes mounts the pooling admin API, which Zaqar serves only with
// both admin_mode and pooling (zaqar/transport/wsgi/v2_0/__init__.py
// private_endpoints).
func (h *handler) poolRoutes(r chi.Router) {
	r.With(h.allow(service.PoolList)).Get("/v2/pools", h.listPools)
	r.With(h.allow(service.PoolCreate)).Put("/v2/pools/{pool}", h.putPool)
	r.With(h.allow(service.PoolGet)).Get("/v2/pools/{pool}", h.getPool)
	r.With(h.allow(service.PoolUpdate)).Patch("/v2/pools/{pool}", h.patchPool)
	r.With(h.allow(service.PoolDelete)).Delete("/v2/pools/{pool}", h.deletePool)
	r.With(h.allow(service.FlavorList)).Get("/v2/flavors", h.listFlavors)
	r.With(h.allow(service.FlavorCreate)).Put("/v2/flavors/{flavor}", h.putFlavor)
	r.With(h.allow(service.FlavorGet)).Get("/v2/flavors/{flavor}", h.getFlavor)
	r.With(h.allow(service.FlavorUpdate)).Patch("/v2/flavors/{flavor}", h.patchFlavor)
	r.With(h.allow(service.FlavorDelete)).Delete("/v2/flavors/{flavor}", h.deleteFlavor)
}

// poolDoc is a pool as Zaqar shows it: flavor null when unset, options
// only in detailed answers (then {} when empty).
type poolDoc struct {
	Name    string  `json:"name"`
	URI     string  `json:"uri"`
	Weight  int64   `json:"weight"`
	Flavor  *string `json:"flavor"`
	Href    string  `json:"href"`
	Options any     `json:"options,omitempty"`
}

func newPoolDoc(p zaqar.Pool, href string, detailed bool) poolDoc {
	d := poolDoc{Name: p.Name, URI: p.URI, Weight: p.Weight, Href: href}
	if p.Flavor != "" {
		d.Flavor = &p.Flavor
	}
	if detailed {
		opts := p.Options
		if opts == nil {
			opts = map[string]any{}
		}
		d.Options = opts
	}
	return d
}

func (h *handler) listPools(w http.ResponseWriter, r *http.Request) {
	var p service.PoolListParams
	var next query
	var err error
	if p.Marker, p.Limit, p.Detailed, err = detailedPage(r, &next); err != nil {
		h.fail(w, r, err)
		return
	}
	pools, err := h.svc.ListPools(r.Context(), p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	docs := make([]poolDoc, len(pools))
	for i, pool := range pools {
		docs[i] = newPoolDoc(pool, r.URL.Path+"/"+pool.Name, p.Detailed)
	}
	links := []link{}
	if len(docs) > 0 {
		next.set("marker", pools[len(pools)-1].Name)
		links = append(links, link{Rel: "next", Href: r.URL.Path + next.String()})
	}
	w.Header().Set("Content-Location", r.URL.RequestURI())
	writeJSON(w, http.StatusOK, map[string]any{"pools": docs, "links": links})
}

func (h *handler) putPool(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r, maxAdminDoc)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.svc.CreatePool(r.Context(), chi.URLParam(r, "pool"), body); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", r.URL.Path)
	w.WriteHeader(http.StatusCreated)
}

func (h *handler) getPool(w http.ResponseWriter, r *http.Request) {
	detailed, _, err := paramBool(r, "detailed")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pool, err := h.svc.GetPool(r.Context(), chi.URLParam(r, "pool"), detailed)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newPoolDoc(pool, r.URL.Path, detailed))
}

func (h *handler) patchPool(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r, maxAdminDoc)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pool, err := h.svc.PatchPool(r.Context(), chi.URLParam(r, "pool"), body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newPoolDoc(pool, r.URL.Path, false))
}

func (h *handler) deletePool(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeletePool(r.Context(), chi.URLParam(r, "pool")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// addPoolRels adds the pools and flavors relations of Zaqar's home
// document (zaqar/transport/wsgi/v2_0/homedoc.py ADMIN_RESOURCES).
func addPoolRels(res map[string]any) {
	for _, kind := range []string{"pool", "flavor"} {
		res["rel/"+kind+"s"] = rel("/v2/"+kind+"s{?detailed,limit,marker}",
			map[string]string{"detailed": "param/detailed", "limit": "param/" + kind + "_limit", "marker": "param/marker"},
			[]string{"GET"}, false)
		res["rel/"+kind] = rel("/v2/"+kind+"s/{"+kind+"_name}",
			map[string]string{kind + "_name": "param/" + kind + "_name"},
			[]string{"GET", "PUT", "PATCH", "DELETE"}, false)
	}
}
