package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

var errDeniedTarget = errors.New("webhook target address is in a denied network ([notification] webhook_denied_networks)")

// denied reports whether the webhook may not connect to host: an address
// inside one of the networks, or no address at all. IPv4-mapped IPv6
// addresses count as their IPv4 address.
func denied(host string, networks []netip.Prefix) bool {
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return true
	}
	addr = addr.Unmap()
	for _, n := range networks {
		if n.Contains(addr) {
			return true
		}
	}
	return false
}

// webhookClient posts notifications. With denied networks, the dialer
// checks the address it is about to connect to (after DNS, so a name
// cannot rebind to a denied address). Redirects are not followed and
// proxies from the environment are not used, so neither can route around
// the check.
func webhookClient(timeout time.Duration, deny []netip.Prefix) *http.Client {
	d := &net.Dialer{Timeout: timeout}
	if len(deny) > 0 {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil || denied(host, deny) {
				return errDeniedTarget
			}
			return nil
		}
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext:           d.DialContext,
			MaxIdleConnsPerHost:   8,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// attemptError says whether a failed attempt is worth retrying.
type attemptError struct {
	err   error
	final bool
}

func (e *attemptError) Error() string { return e.err.Error() }

// webhook POSTs payload (Zaqar's webhook task), retrying per policy.
func (n *Notifier) webhook(ctx context.Context, sub zaqar.Subscription, target string, payload []byte, extra http.Header, policy retryPolicy, keepAlive func()) error {
	body := payload
	if pd, ok := sub.Options["post_data"].(string); ok {
		// Zaqar replaces the quoted token "$zaqar_message$" with the JSON.
		body = []byte(strings.ReplaceAll(pd, `"$zaqar_message$"`, string(payload)))
	}
	header := http.Header{"Content-Type": {"application/json"}}
	if ph, ok := sub.Options["post_headers"].(map[string]any); ok {
		for k, v := range ph {
			header.Set(k, fmt.Sprint(v))
		}
	}
	for k, vs := range extra {
		header[k] = vs
	}
	client := n.guarded
	if allowed, _ := sub.Options[AllowInternalOption].(bool); allowed {
		client = n.open
	}
	attempt := func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
		if err != nil {
			return &attemptError{err: err, final: true}
		}
		req.Header = header.Clone()
		res, err := client.Do(req)
		if err != nil {
			return &attemptError{err: err, final: errors.Is(err, errDeniedTarget)}
		}
		io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
		res.Body.Close()
		switch {
		case res.StatusCode < 400:
			return nil
		case res.StatusCode >= 500, res.StatusCode == http.StatusRequestTimeout, res.StatusCode == http.StatusTooManyRequests:
			return &attemptError{err: fmt.Errorf("subscriber answered %d", res.StatusCode)}
		}
		return &attemptError{err: fmt.Errorf("subscriber answered %d", res.StatusCode), final: true}
	}
	err := attempt()
	for _, wait := range policy.delays() {
		var ae *attemptError
		if err == nil || (errors.As(err, &ae) && ae.final) {
			break
		}
		keepAlive()
		if serr := n.pause(ctx, wait); serr != nil {
			return serr
		}
		n.observe(sub.Subscriber, Retried)
		err = attempt()
	}
	return err
}
