package rest

import (
	"net/http"

	"github.com/rs/cors"
)

// CORS is oslo.middleware's [cors] section: which other origins' pages may
// call the API from a browser. Zaqar serves it through oslo.middleware;
// rs/cors does the protocol here, set up to answer as oslo's does.
type CORS struct {
	AllowedOrigins   []string // scheme://host[:port], or "*"
	AllowCredentials bool
	ExposeHeaders    []string
	MaxAge           int // seconds
	AllowMethods     []string
	// AllowHeaders are the request headers a page may send besides
	// oslo's simple headers, which are always allowed.
	AllowHeaders []string
}

// simpleHeaders are always allowed, as in oslo.middleware (CORS.simple_headers).
var simpleHeaders = []string{"Accept", "Accept-Language", "Content-Type", "Cache-Control",
	"Content-Language", "Expires", "Last-Modified", "Pragma"}

// corsHandler answers preflight requests (OPTIONS with
// Access-Control-Request-Method) itself, 200 as oslo does, and adds the
// CORS headers to every answer for an allowed origin, errors included, so
// a page can read a 401. Requests from other origins are served without
// them, and the browser keeps the answer from the page.
func corsHandler(c *CORS) func(http.Handler) http.Handler {
	if c == nil || len(c.AllowedOrigins) == 0 {
		return func(next http.Handler) http.Handler { return next }
	}
	return cors.New(cors.Options{
		AllowedOrigins:       c.AllowedOrigins,
		AllowedMethods:       c.AllowMethods,
		AllowedHeaders:       append(append([]string{}, c.AllowHeaders...), simpleHeaders...),
		ExposedHeaders:       c.ExposeHeaders,
		AllowCredentials:     c.AllowCredentials,
		MaxAge:               c.MaxAge,
		OptionsSuccessStatus: http.StatusOK,
	}).Handler
}
