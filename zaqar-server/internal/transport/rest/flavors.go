package rest

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/zaqar-go/suite/zaqar-server/internal/service"
)

// flavorDoc is a flavor in a listing: capabilities only when detailed.
// Zaqar leaves pool_list out for a flavor without pools; we send [], so a
// client never has to guess.
type flavorDoc struct {
	Name         string   `json:"name"`
	Href         string   `json:"href"`
	PoolList     []string `json:"pool_list"`
	Capabilities any      `json:"capabilities,omitempty"` // a []string, [] included, when detailed
}

// fullFlavorDoc is one flavor: pool_list and capabilities always.
type fullFlavorDoc struct {
	Name         string   `json:"name"`
	Href         string   `json:"href"`
	Capabilities []string `json:"capabilities"`
	PoolList     []string `json:"pool_list"`
}

func newFullFlavorDoc(v service.FlavorView, href string) fullFlavorDoc {
	d := fullFlavorDoc{Name: v.Name, Href: href, Capabilities: v.Capabilities, PoolList: v.PoolList}
	if d.Capabilities == nil {
		d.Capabilities = []string{}
	}
	if d.PoolList == nil {
		d.PoolList = []string{}
	}
	return d
}

func (h *handler) listFlavors(w http.ResponseWriter, r *http.Request) {
	var p service.FlavorListParams
	var next query
	var err error
	if p.Marker, p.Limit, err = page(r, &next); err != nil {
		h.fail(w, r, err)
		return
	}
	detailed, given, err := paramBool(r, "detailed")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.Detailed = detailed
	flavors, err := h.svc.ListFlavors(r.Context(), scopeOf(r).Project, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	docs := make([]flavorDoc, len(flavors))
	for i, f := range flavors {
		docs[i] = flavorDoc{Name: f.Name, Href: r.URL.Path + "/" + f.Name, PoolList: f.PoolList}
		if docs[i].PoolList == nil {
			docs[i].PoolList = []string{}
		}
		if p.Detailed {
			caps := f.Capabilities
			if caps == nil {
				caps = []string{}
			}
			docs[i].Capabilities = caps
		}
	}
	links := []link{}
	if len(docs) > 0 {
		// Zaqar sets the marker before adding detailed to the link.
		next.set("marker", flavors[len(flavors)-1].Name)
		if given {
			next.set("detailed", boolStr(detailed))
		}
		links = append(links, link{Rel: "next", Href: r.URL.Path + next.String()})
	}
	writeJSON(w, http.StatusOK, map[string]any{"flavors": docs, "links": links})
}

func (h *handler) putFlavor(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r, maxAdminDoc)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.svc.CreateFlavor(r.Context(), scopeOf(r).Project, chi.URLParam(r, "flavor"), body); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", r.URL.Path)
	w.WriteHeader(http.StatusCreated)
}

func (h *handler) getFlavor(w http.ResponseWriter, r *http.Request) {
	v, err := h.svc.GetFlavor(r.Context(), scopeOf(r).Project, chi.URLParam(r, "flavor"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newFullFlavorDoc(v, r.URL.Path))
}

func (h *handler) patchFlavor(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r, maxAdminDoc)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := h.svc.PatchFlavor(r.Context(), scopeOf(r).Project, chi.URLParam(r, "flavor"), body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newFullFlavorDoc(v, r.URL.Path))
}

func (h *handler) deleteFlavor(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteFlavor(r.Context(), scopeOf(r).Project, chi.URLParam(r, "flavor")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
