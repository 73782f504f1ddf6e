/*
Package keystone makes an HTTP service an OpenStack service: it validates
Keystone tokens the way keystonemiddleware's auth_token does, and gives the
service user's catalog and trusts. It is built on gophercloud and the standard
library and knows nothing of Zaqar: policy, pre-signed URLs and the mapping of
zaqar.conf's [keystone_authtoken] section to Config belong to the server.

A Validator authenticates as the service user (password, project-scoped) and
re-authenticates when Keystone refuses the service token. Validate asks
Keystone about a user token (GET /v3/auth/tokens, X-Subject-Token) and keeps
the answer in a bounded LRU cache keyed by the token's SHA-256, never the
token: a valid token for at most Config.CacheTTL and never past its expiry, so
a revoked token is refused at most CacheTTL after revocation; a rejected token
for NegativeCacheTTL. Concurrent validations of one token share one request.
Errors wrap ErrInvalidToken (answer 401) or ErrUnavailable (answer 503).

Middleware puts it in front of a handler:

	v, err := keystone.New(ctx, keystone.Config{
		AuthURL:           "http://127.0.0.1:5000/v3",
		Username:          "zaqar",
		Password:          password,
		ProjectName:       "service",
		UserDomainName:    "Default",
		ProjectDomainName: "Default",
		Logger:            log,
	})
	if err != nil {
		return err // bad configuration or credentials; an unreachable Keystone is not an error
	}
	h := keystone.Middleware(v, keystone.MiddlewareOptions{
		// The version document is public; the server checks pre-signed requests itself.
		Skip: func(r *http.Request) bool {
			return r.URL.Path == "/" || (r.Header.Get("X-Auth-Token") == "" && r.Header.Get("URL-Signature") != "")
		},
	})(router)

and handlers read the caller's identity:

	id, ok := keystone.IdentityFrom(r.Context())
	if ok && id.IsAdmin() { ... }  // id.ProjectID is also in the X-Project-Id header

For trust-based notifications (Zaqar's trust+http subscribers), the server
creates a trust from the subscriber's request and later acts with it:

	trustID, err := v.CreateTrust(ctx, r.Header.Get("X-Auth-Token"), id, nil, time.Now().Add(ttl))
	token, expires, err := v.TrustToken(ctx, trustID)

and finds its own public endpoint with v.EndpointFor(ctx, "messaging", "public", "").

Not supported: PKI tokens, X-Service-Token (service tokens), memcached
(memcached_servers), TLS options (cafile, insecure), and delay_auth_decision
other than through MiddlewareOptions.Skip.
*/
package keystone
