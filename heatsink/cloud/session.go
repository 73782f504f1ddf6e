package cloud

import (
	"context"
	"sync"

	"github.com/gophercloud/gophercloud/v2"
)

// Session is what a command's connection flags lead to: it authenticates
// once, on first use, from the OS_* environment (or OS_CLOUD), and hands
// out the messaging and orchestration clients; MessagingURL, when set,
// replaces the catalog's messaging endpoint (--zaqar-url).
type Session struct {
	MessagingURL string

	once     sync.Once
	provider *gophercloud.ProviderClient
	cfg      Config
	err      error
}

func (s *Session) authenticate(ctx context.Context) (*gophercloud.ProviderClient, error) {
	s.once.Do(func() {
		s.cfg, s.err = FromEnv()
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
