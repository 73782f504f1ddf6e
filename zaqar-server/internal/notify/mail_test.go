package notify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/zaqar-go/suite/internal/testenv"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// mailbox is a real SMTP server (go-smtp) that keeps what it receives.
type mailbox struct {
	mu    sync.Mutex
	mails []received
	event chan struct{}
	user  string
	pass  string
}

type received struct {
	from, to string
	msg      *mail.Message
	body     string
}

type session struct {
	box      *mailbox
	from, to string
	authed   bool
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.box.user || pass != s.box.pass {
			return smtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.box.user != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error { s.to = to; return nil }
func (s *session) Data(r io.Reader) error {
	m, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(m.Body)
	s.box.mu.Lock()
	s.box.mails = append(s.box.mails, received{from: s.from, to: s.to, msg: m, body: strings.TrimSpace(string(b))})
	s.box.mu.Unlock()
	s.box.event <- struct{}{}
	return nil
}
func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }

func selfSigned(t *testing.T) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func newMailbox(t *testing.T, user, pass string) (*mailbox, int, *tls.Config) {
	box := &mailbox{event: make(chan struct{}, 100), user: user, pass: pass}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{box: box}, nil }))
	cert := selfSigned(t)
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Domain = "127.0.0.1"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	pool := x509.NewCertPool()
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	pool.AddCert(leaf)
	return box, ln.Addr().(*net.TCPAddr).Port, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

func (b *mailbox) wait(t *testing.T, n int) []received {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		b.mu.Lock()
		got := append([]received(nil), b.mails...)
		b.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-b.event:
		case <-deadline:
			t.Fatalf("mailbox has %d mails, want %d", len(got), n)
		}
	}
}

func TestMailtoSMTP(t *testing.T) {
	box, port, tlsConf := newMailbox(t, "zaqar", "s3cret")
	store := memory.New()
	q := zaqar.QueueRef{Project: "p", Name: "mailq"}
	subscribe(t, store, q, "mailto:ops@example.com?subject=Queue%20news", map[string]any{"from": "Zaqar <zaqar@example.com>", "subject": "ignored"})
	n := start(t, store, Options{RequireConfirmation: true, SignedURLKey: "k", Mail: MailOptions{
		Mode: "self_local", Host: "127.0.0.1", Port: port, User: "zaqar", Password: "s3cret", TLS: "starttls", TLSConfig: tlsConf,
		ExternalConfirmationURL: "https://confirm.example/page"}})

	subs, _ := store.Subscriptions().List(t.Context(), q, "", 10)
	if err := n.Confirm(t.Context(), q, subs[0], false); err != nil {
		t.Fatal(err)
	}
	got := box.wait(t, 1)
	c := got[0]
	if c.to != "ops@example.com" || c.from != "no-reply@openstack.org" || c.msg.Header.Get("Subject") != "Zaqar Notification - Subscription Confirmation" {
		t.Errorf("confirmation mail: to %q from %q subject %q", c.to, c.from, c.msg.Header.Get("Subject"))
	}
	if !strings.HasPrefix(c.body, "You have chosen to subscribe to the queue: mailq. This queue belongs to project: p.") ||
		!strings.Contains(c.body, "https://confirm.example/page?Signature=") || !strings.Contains(c.body, "&Queue=mailq") {
		t.Errorf("confirmation body = %q", c.body)
	}

	store.Subscriptions().Confirm(t.Context(), q, subs[0].ID, true)
	n.Invalidate(q)
	post(t, n, store, q, `{"alert":"disk full"}`)
	got = box.wait(t, 2)
	m := got[1]
	if m.msg.Header.Get("Subject") != "Queue news" || m.from != "zaqar@example.com" || m.msg.Header.Get("To") != "ops@example.com" {
		t.Errorf("notification mail headers: %v from %q", m.msg.Header, m.from)
	}
	if m.body != `{"body":{"alert":"disk full"},"ttl":300,"queue_name":"mailq","Message_Type":"Notification"}` {
		t.Errorf("notification mail body = %q", m.body)
	}
}

func TestMailtoSendmail(t *testing.T) {
	out := filepath.Join(t.TempDir(), "mail.txt")
	store := memory.New()
	q := zaqar.QueueRef{Project: "p", Name: "pipe"}
	subscribe(t, store, q, "mailto:dev@example.com", map[string]any{"subject": "hello"})
	n := start(t, store, Options{Mail: MailOptions{Mode: "third_part", Command: "tee " + out}})
	post(t, n, store, q, `1`)
	var b []byte
	testenv.Eventually(t, "smtp_command to receive the mail", 10*time.Second, 20*time.Millisecond, func() bool {
		b, _ = os.ReadFile(out)
		return len(b) > 0
	})
	m, err := mail.ReadMessage(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(m.Body)
	if m.Header.Get("To") != "dev@example.com" || m.Header.Get("Subject") != "hello" || !strings.Contains(string(body), `"body":1`) {
		t.Errorf("sendmail got %q", b)
	}
}
