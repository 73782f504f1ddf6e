package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/smtp"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// MailOptions are Zaqar's [notification] mail options.
type MailOptions struct {
	Mode     string // smtp_mode: "third_part" (pipe to Command) or "self_local" (SMTP)
	Command  string // smtp_command [/usr/sbin/sendmail -t -oi]
	Host     string // smtp_host
	Port     int    // smtp_port
	User     string // smtp_user_name
	Password string // smtp_user_password
	// TLS is ours: "ssl" (Zaqar's SMTP_SSL, the default), "starttls" or "none".
	TLS       string
	TLSConfig *tls.Config // tests trust their own certificate

	ExternalConfirmationURL string   // external_confirmation_url
	Subscribe, Unsubscribe  Template // *_confirmation_email_template
}

// Template is a confirmation mail: {0} queue, {1} project, {2} confirm link.
type Template struct{ Topic, Body, Sender string }

func (o *MailOptions) defaults() {
	if o.Mode == "" {
		o.Mode = "third_part"
	}
	if o.Command == "" {
		o.Command = "/usr/sbin/sendmail -t -oi"
	}
	if o.TLS == "" {
		o.TLS = "ssl"
	}
	if o.Subscribe == (Template{}) {
		o.Subscribe = Template{Topic: "Zaqar Notification - Subscription Confirmation",
			Body:   "You have chosen to subscribe to the queue: {0}. This queue belongs to project: {1}. To confirm this subscription, click or visit this link below: {2}",
			Sender: "Zaqar Notifications <no-reply@openstack.org>"}
	}
	if o.Unsubscribe == (Template{}) {
		o.Unsubscribe = Template{Topic: "Zaqar Notification - Unsubscribe Confirmation",
			Body:   "You have unsubscribed successfully to the queue: {0}. This queue belongs to project: {1}. To resubscribe this subscription, click or visit this link below: {2}",
			Sender: "Zaqar Notifications <no-reply@openstack.org>"}
	}
}

// mail sends one entry to a mailto: subscriber (zaqar/notification/tasks/mailto.py).
func (n *Notifier) mail(ctx context.Context, q zaqar.QueueRef, sub zaqar.Subscription, u *url.URL, env envelope) error {
	to := u.Opaque
	if to == "" {
		to = u.Path
	}
	params := url.Values{}
	for k, v := range u.Query() {
		params[strings.ToLower(k)] = v
	}
	var from, subject, text string
	switch env.Kind {
	case kindConfirm, kindUnsubscribe:
		tpl := n.opts.Mail.Subscribe
		if env.Kind == kindUnsubscribe {
			tpl = n.opts.Mail.Unsubscribe
		}
		if n.opts.Mail.ExternalConfirmationURL == "" {
			return fmt.Errorf("can't make confirmation email body, need a valid confirm url ([notification] external_confirmation_url)")
		}
		var p map[string]any
		if err := json.Unmarshal(env.Payload, &p); err != nil {
			return err
		}
		get := func(k string) string { s, _ := p[k].(string); return s }
		link := n.opts.Mail.ExternalConfirmationURL + "?Signature=" + get("URL-Signature") + "&Methods=" + get("URL-Methods") +
			"&Paths=" + get("URL-Paths") + "&Project=" + get("X-Project-ID") + "&Expires=" + get("URL-Expires") +
			"&Url=" + get("WSGISubscribeURL") + "&Queue=" + q.Name
		text = strings.NewReplacer("{0}", q.Name, "{1}", get("X-Project-ID"), "{2}", link).Replace(tpl.Body)
		from, subject = tpl.Sender, tpl.Topic
	default:
		text = string(env.Payload)
		from, _ = sub.Options["from"].(string)
		subject, _ = sub.Options["subject"].(string)
		if s := params.Get("subject"); s != "" {
			subject = s
		}
	}
	msg := buildMail(from, to, subject, text)
	if n.opts.Mail.Mode == "self_local" {
		return n.smtpSend(ctx, from, to, msg)
	}
	return n.sendmail(ctx, msg)
}

func buildMail(from, to, subject, text string) []byte {
	var b bytes.Buffer
	hdr := func(k, v string) {
		v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v) // no header injection
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	hdr("Content-Type", `text/plain; charset="utf-8"`)
	hdr("MIME-Version", "1.0")
	hdr("Content-Transfer-Encoding", "8bit")
	hdr("To", to)
	hdr("From", from)
	hdr("Subject", mime.QEncoding.Encode("utf-8", subject))
	hdr("Date", time.Now().UTC().Format(time.RFC1123Z))
	b.WriteString("\r\n")
	b.WriteString(strings.ReplaceAll(text, "\n", "\r\n"))
	b.WriteString("\r\n")
	return b.Bytes()
}

// sendmail pipes the mail to smtp_command (smtp_mode = third_part).
func (n *Notifier) sendmail(ctx context.Context, msg []byte) error {
	args := strings.Fields(n.opts.Mail.Command)
	if len(args) == 0 {
		return fmt.Errorf("[notification] smtp_command is empty")
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdin = bytes.NewReader(msg)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w: %s", args[0], err, bytes.TrimSpace(out))
	}
	return nil
}

// smtpSend delivers over SMTP (smtp_mode = self_local).
func (n *Notifier) smtpSend(ctx context.Context, from, to string, msg []byte) error {
	o := n.opts.Mail
	addr := net.JoinHostPort(o.Host, strconv.Itoa(o.Port))
	tlsConf := o.TLSConfig
	if tlsConf == nil {
		tlsConf = &tls.Config{ServerName: o.Host}
	}
	d := &net.Dialer{Timeout: n.opts.Timeout}
	var conn net.Conn
	var err error
	if o.TLS == "ssl" {
		conn, err = (&tls.Dialer{NetDialer: d, Config: tlsConf}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return err
	}
	conn.SetDeadline(time.Now().Add(time.Minute))
	c, err := smtp.NewClient(conn, o.Host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if o.TLS == "starttls" {
		if err := c.StartTLS(tlsConf); err != nil {
			return err
		}
	}
	if o.User != "" {
		if err := c.Auth(smtp.PlainAuth("", o.User, o.Password, o.Host)); err != nil {
			return err
		}
	}
	if err := c.Mail(addressOf(from)); err != nil {
		return err
	}
	if err := c.Rcpt(addressOf(to)); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// addressOf takes the bare address out of "Name <addr>".
func addressOf(s string) string {
	if i := strings.LastIndex(s, "<"); i >= 0 {
		if j := strings.Index(s[i:], ">"); j > 0 {
			return s[i+1 : i+j]
		}
	}
	return strings.TrimSpace(s)
}
