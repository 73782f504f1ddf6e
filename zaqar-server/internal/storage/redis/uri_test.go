package redis

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

func TestParseURI(t *testing.T) {
	for _, tc := range []struct {
		name, uri string
		want      Target
	}{
		{"default port", "redis://127.0.0.1", Target{Mode: "single", Network: "tcp", Addrs: []string{"127.0.0.1:6379"}}},
		{"db and password", "redis://:s3cret@redis.example:6380/2", Target{Mode: "single", Network: "tcp", Addrs: []string{"redis.example:6380"}, Password: "s3cret", DB: 2}},
		{"user", "redis://zaqar:pw@h:1", Target{Mode: "single", Network: "tcp", Addrs: []string{"h:1"}, Username: "zaqar", Password: "pw"}},
		{"zaqar dbid and socket_timeout", "redis://h:1?dbid=3&socket_timeout=0.5", Target{Mode: "single", Network: "tcp", Addrs: []string{"h:1"}, DB: 3, ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond}},
		{"tls", "rediss://h", Target{Mode: "single", Network: "tcp", Addrs: []string{"h:6379"}, TLS: true}},
		{"ipv6", "redis://[::1]:7000", Target{Mode: "single", Network: "tcp", Addrs: []string{"[::1]:7000"}}},
		{"zaqar unix socket", "redis:/var/run/redis/redis.sock?dbid=1", Target{Mode: "single", Network: "unix", Addrs: []string{"/var/run/redis/redis.sock"}, DB: 1}},
		{"unix scheme", "unix:///tmp/r.sock", Target{Mode: "single", Network: "unix", Addrs: []string{"/tmp/r.sock"}}},
		{"zaqar sentinel", "redis://s1:26379,s2?master=mymaster&sentinel_password=sp", Target{Mode: "sentinel", Network: "tcp", Addrs: []string{"s1:26379", "s2:26379"}, Master: "mymaster", SentinelPassword: "sp"}},
		{"sentinel path", "redis+sentinel://:pw@s1,s2:5000/mymaster?db=4", Target{Mode: "sentinel", Network: "tcp", Addrs: []string{"s1:26379", "s2:5000"}, Master: "mymaster", Password: "pw", DB: 4}},
		{"sentinel query", "redis+sentinel://s1?master=m", Target{Mode: "sentinel", Network: "tcp", Addrs: []string{"s1:26379"}, Master: "m"}},
		{"cluster", "redis+cluster://:pw@n1:7000,n2:7001?pool_size=20&dial_timeout=2s", Target{Mode: "cluster", Network: "tcp", Addrs: []string{"n1:7000", "n2:7001"}, Password: "pw", PoolSize: 20, DialTimeout: 2 * time.Second}},
		{"retries on request", "redis://h:1?max_retries=3", Target{Mode: "single", Network: "tcp", Addrs: []string{"h:1"}, MaxRetries: 3}},
		{"no pipelining", "redis://h:1?pipeline=false", Target{Mode: "single", Network: "tcp", Addrs: []string{"h:1"}, Pipeline: false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseURI(tc.uri)
			if err != nil {
				t.Fatalf("ParseURI(%q): %v", tc.uri, err)
			}
			if tc.want.MaxRetries == 0 {
				tc.want.MaxRetries = -1
			}
			tc.want.Pipeline = !strings.Contains(tc.uri, "pipeline=false")
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseURI(%q) =\n%+v, want\n%+v", tc.uri, got, tc.want)
			}
		})
	}
}

func TestParseURIErrors(t *testing.T) {
	for _, tc := range []struct{ uri, want string }{
		{"http://h", "unknown scheme"},
		{"redis://h1,h2", "no master"},
		{"redis+sentinel://s1", "names its master"},
		{"redis+cluster://n1/2", "only database 0"},
		{"redis+cluster://n1?master=m", "cluster has none"},
		{"redis://h/x", "not a database number"},
		{"redis://h?dbid=-1", "not a database number"},
		{"redis://h?bogus=1", `unknown option "bogus"`},
		{"redis://h:99999", "bad port"},
		{"redis://h?socket_timeout=soon", "socket_timeout"},
		{"redis:", "no host and no socket path"},
		{"redis://h?pipeline=maybe", "pipeline"},
	} {
		_, err := ParseURI(tc.uri)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseURI(%q) = %v, want an error containing %q", tc.uri, err, tc.want)
		}
	}
}

// Names must not escape their hash tag or collide with another's keys.
func TestKeys(t *testing.T) {
	for _, tc := range []struct {
		project, queue, want string
	}{
		{"p", "q", "zq:{p/q}"},
		{"a/b", "c", "zq:{a%2Fb/c}"},
		{"a", "b/c", "zq:{a/b%2Fc}"},
		{"x}y{", "%", "zq:{x%7Dy%7B/%25}"},
	} {
		if got := queueTag(refOf(tc.project, tc.queue)); got != tc.want {
			t.Errorf("queueTag(%q, %q) = %q, want %q", tc.project, tc.queue, got, tc.want)
		}
	}
	if got, want := indexKey("a/b}"), "zq:{a%2Fb%7D}:queues"; got != want {
		t.Errorf("indexKey = %q, want %q", got, want)
	}
}

func refOf(project, queue string) zaqar.QueueRef {
	return zaqar.QueueRef{Project: project, Name: queue}
}

func TestQueueKeys(t *testing.T) {
	got := queueKeys(zaqar.QueueRef{Project: "p/1", Name: "q"})
	tag := "zq:{p%2F1/q}"
	want := []string{tag, tag + ":ord", tag + ":msg", tag + ":exp", tag + ":clm", tag + ":clx", tag + ":out", tag + ":rx"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("queueKeys = %q, want %q", got, want)
	}
}
