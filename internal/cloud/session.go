package cloud

import (
	"cmp"
	"context"
	"net/http"
	"os"
	"sync"

	"github.com/gophercloud/gophercloud/v2"
)

// Session is what a command's connection flags lead to: it authenticates
// once, on first use, from the OS_* environment (or OS_CLOUD), and hands
// out the messaging and orchestration clients; MessagingURL, when set,
// replaces the catalog's messaging endpoint (--zaqar-url).
type Session struct {
	MessagingURL string
	TLS          TLSOptions // --os-cacert, --insecure

	once     sync.Once
	provider *gophercloud.ProviderClient
	cfg      Config
	err      error
}

func (s *Session) authenticate(ctx context.Context) (*gophercloud.ProviderClient, error) {
	s.once.Do(func() {
		s.cfg, s.err = FromEnv(s.TLS)
		if s.err == nil {
			s.provider, s.err = Provider(ctx, s.cfg)
		}
	})
	return s.provider, s.err
}

// Messaging returns a Zaqar v2 client.
func (s *Session) Messaging(ctx context.Context) (*gophercloud.ServiceClient, error) {
	pc, err := s.authenticate(ctx)
	if err != nil {
		return nil, err
	}
	if s.MessagingURL != "" {
		return MessagingAt(pc, s.MessagingURL), nil
	}
	return Messaging(pc, s.cfg.Endpoint)
}

// Orchestration returns a Heat v1 client.
func (s *Session) Orchestration(ctx context.Context) (*gophercloud.ServiceClient, error) {
	pc, err := s.authenticate(ctx)
	if err != nil {
		return nil, err
	}
	return Orchestration(pc, s.cfg.Endpoint)
}

// HTTPClient is the HTTP client the session's clients use (its TLS
// settings), for clients built apart from it (pre-signed URLs).
func (s *Session) HTTPClient() (http.Client, error) {
	if s.cfg.TLS != nil || s.provider != nil {
		return HTTPClient(s.cfg.TLS), nil
	}
	tc, err := TLSConfig(cmp.Or(s.TLS.CACert, os.Getenv("OS_CACERT")), s.TLS.Insecure || truthy(os.Getenv("OS_INSECURE")))
	return HTTPClient(tc), err
}
