package redis

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Target is a parsed [drivers:message_store:redis] uri.
type Target struct {
	Mode                               string   // "single", "sentinel" or "cluster"
	Network                            string   // "tcp" or "unix" (single only)
	Addrs                              []string // host:port, or the socket path
	TLS                                bool
	Username                           string
	Password                           string
	DB                                 int
	Master                             string // sentinel master name
	SentinelUsername, SentinelPassword string

	DialTimeout, ReadTimeout, WriteTimeout time.Duration
	PoolSize                               int
	MaxRetries                             int // go-redis meaning: -1 none
	// Pipeline sends the scripts of concurrent requests together (go-redis's
	// autopipeliner): one write and one read for many, which takes about a
	// third off Redis's CPU per message post. On unless pipeline=false.
	Pipeline bool
}

// ParseURI reads the uri forms Zaqar's Redis driver accepts and ours:
//
//	redis://[[user]:password@]host[:port][/db]     one server (port 6379)
//	rediss://...                                   the same over TLS
//	redis:/path/to/redis.sock, unix:///path        a unix socket
//	redis://host:port,host:port?master=name        Sentinel, as in Zaqar
//	redis+sentinel://[:password@]host:port,host:port/name   Sentinel (port 26379)
//	redis+cluster://[[user]:password@]host:port,host:port   Redis Cluster
//
// Query options: db or dbid (Zaqar's name), master or master_name,
// sentinel_username, sentinel_password, socket_timeout (seconds, Zaqar's:
// read and write timeout), dial_timeout, read_timeout, write_timeout
// (seconds or Go durations), pool_size, max_retries and pipeline (true or
// false; see Target.Pipeline). Unknown options are errors, so a typo does
// not pass silently.
func ParseURI(uri string) (Target, error) {
	var t Target
	// net/url takes one host; a Sentinel or cluster uri lists several, so
	// they are cut out here and a placeholder parsed in their place.
	hosts := ""
	if i := strings.Index(uri, "://"); i >= 0 {
		rest := uri[i+3:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		auth := rest[:end]
		at := strings.LastIndex(auth, "@")
		if hosts = auth[at+1:]; hosts != "" {
			uri = uri[:i+3] + auth[:at+1] + "hosts" + rest[end:]
		}
	}
	u, err := url.Parse(uri)
	if err != nil {
		return t, fmt.Errorf("redis uri: %w", err)
	}
	scheme := u.Scheme
	switch {
	case scheme == "redis", scheme == "rediss", scheme == "unix":
		t.Mode = "single"
	case scheme == "redis+sentinel", scheme == "rediss+sentinel":
		t.Mode = "sentinel"
	case scheme == "redis+cluster", scheme == "rediss+cluster":
		t.Mode = "cluster"
	default:
		return t, fmt.Errorf("redis uri: unknown scheme %q (want redis, rediss, unix, redis+sentinel or redis+cluster)", scheme)
	}
	t.TLS = strings.HasPrefix(scheme, "rediss")
	t.MaxRetries = -1 // see Store.run: a script must not run twice unasked
	if u.User != nil {
		t.Username = u.User.Username()
		t.Password, _ = u.User.Password()
	}

	q := u.Query()
	take := func(names ...string) string {
		v := ""
		for _, n := range names {
			if vs, ok := q[n]; ok {
				v = vs[len(vs)-1]
				delete(q, n)
			}
		}
		return v
	}
	if m := take("master", "master_name"); m != "" {
		if t.Mode == "cluster" {
			return t, fmt.Errorf("redis uri: master names a Sentinel master; a cluster has none")
		}
		t.Mode, t.Master = "sentinel", m
	}
	t.SentinelUsername = take("sentinel_username")
	t.SentinelPassword = take("sentinel_password")
	if v := take("db", "dbid"); v != "" {
		if t.DB, err = strconv.Atoi(v); err != nil || t.DB < 0 {
			return t, fmt.Errorf("redis uri: db %q is not a database number", v)
		}
	}
	for _, o := range []struct {
		name string
		dst  *time.Duration
	}{{"socket_timeout", &t.ReadTimeout}, {"dial_timeout", &t.DialTimeout}, {"read_timeout", &t.ReadTimeout}, {"write_timeout", &t.WriteTimeout}} {
		v := take(o.name)
		if v == "" {
			continue
		}
		d, err := parseDuration(v)
		if err != nil {
			return t, fmt.Errorf("redis uri: %s: %w", o.name, err)
		}
		*o.dst = d
		if o.name == "socket_timeout" {
			t.WriteTimeout = d
		}
	}
	for _, o := range []struct {
		name string
		dst  *int
	}{{"pool_size", &t.PoolSize}, {"max_retries", &t.MaxRetries}} {
		if v := take(o.name); v != "" {
			if *o.dst, err = strconv.Atoi(v); err != nil {
				return t, fmt.Errorf("redis uri: %s %q is not an integer", o.name, v)
			}
		}
	}
	t.Pipeline = true
	if v := take("pipeline"); v != "" {
		if t.Pipeline, err = strconv.ParseBool(v); err != nil {
			return t, fmt.Errorf("redis uri: pipeline %q is not true or false", v)
		}
	}
	for name := range q {
		return t, fmt.Errorf("redis uri: unknown option %q", name)
	}

	path := strings.Trim(u.Path, "/")
	switch {
	case scheme == "unix" || t.Mode == "single" && hosts == "":
		if u.Path == "" {
			return t, fmt.Errorf("redis uri: no host and no socket path")
		}
		t.Network, t.Addrs = "unix", []string{u.Path}
		return t, nil
	case t.Mode == "sentinel" && t.Master == "":
		t.Master, path = path, ""
		if t.Master == "" {
			return t, fmt.Errorf("redis uri: a Sentinel uri names its master: redis+sentinel://host:port/master or ?master=")
		}
	}
	if path != "" {
		if t.Mode == "cluster" {
			return t, fmt.Errorf("redis uri: a cluster has only database 0; drop %q", u.Path)
		}
		if t.DB, err = strconv.Atoi(path); err != nil || t.DB < 0 {
			return t, fmt.Errorf("redis uri: path %q is not a database number", u.Path)
		}
	}
	port := "6379"
	if t.Mode == "sentinel" {
		port = "26379"
	}
	for _, h := range strings.Split(hosts, ",") {
		if h == "" {
			return t, fmt.Errorf("redis uri: empty host in %q", hosts)
		}
		host, p, err := net.SplitHostPort(h)
		if err != nil { // no port
			host, p = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"), port
		}
		if _, err := strconv.ParseUint(p, 10, 16); err != nil {
			return t, fmt.Errorf("redis uri: bad port in %q", h)
		}
		t.Addrs = append(t.Addrs, net.JoinHostPort(host, p))
	}
	t.Network = "tcp"
	if t.Mode == "single" && len(t.Addrs) > 1 {
		// Zaqar gives the same advice (zaqar/storage/redis/driver.py).
		return t, fmt.Errorf("redis uri: several hosts but no master: add ?master=<name> for Sentinel, or use redis+cluster://")
	}
	return t, nil
}

// parseDuration reads seconds ("0.5", "3") or a Go duration ("500ms").
func parseDuration(v string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return time.Duration(f * float64(time.Second)), nil
	}
	return time.ParseDuration(v)
}

// newClient opens the client uri names: a plain client, a Sentinel
// failover client or a cluster client, all behind redis.UniversalClient.
func newClient(uri string) (redis.UniversalClient, Target, error) {
	t, err := ParseURI(uri)
	if err != nil {
		return nil, t, err
	}
	var tlsConf *tls.Config
	if t.TLS {
		host, _, _ := net.SplitHostPort(t.Addrs[0])
		tlsConf = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	// RESP2 keeps script replies plain arrays on every server version, and
	// no maintenance-notification handshake is attempted.
	maint := &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	switch t.Mode {
	case "sentinel":
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: t.Master, SentinelAddrs: t.Addrs,
			SentinelUsername: t.SentinelUsername, SentinelPassword: t.SentinelPassword,
			Username: t.Username, Password: t.Password, DB: t.DB, TLSConfig: tlsConf,
			Protocol: 2, DisableIdentity: true, ContextTimeoutEnabled: true,
			DialTimeout: t.DialTimeout, ReadTimeout: t.ReadTimeout, WriteTimeout: t.WriteTimeout,
			PoolSize: t.PoolSize, MaxRetries: t.MaxRetries,
		}), t, nil
	case "cluster":
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: t.Addrs, Username: t.Username, Password: t.Password, TLSConfig: tlsConf,
			Protocol: 2, DisableIdentity: true, ContextTimeoutEnabled: true,
			DialTimeout: t.DialTimeout, ReadTimeout: t.ReadTimeout, WriteTimeout: t.WriteTimeout,
			PoolSize: t.PoolSize, MaxRetries: t.MaxRetries,
			MaintNotificationsConfig: maint,
		}), t, nil
	}
	return redis.NewClient(&redis.Options{
		Network: t.Network, Addr: t.Addrs[0],
		Username: t.Username, Password: t.Password, DB: t.DB, TLSConfig: tlsConf,
		Protocol: 2, DisableIdentity: true, ContextTimeoutEnabled: true,
		DialTimeout: t.DialTimeout, ReadTimeout: t.ReadTimeout, WriteTimeout: t.WriteTimeout,
		PoolSize: t.PoolSize, MaxRetries: t.MaxRetries,
		MaintNotificationsConfig: maint,
	}), t, nil
}
