package config

import (
	_ "embed"
	"strings"
)

// zaqar15Options lists, one "section option" a line, every option of Zaqar
// 15's sample configuration (oslo-config-generator with Zaqar's namespaces:
// zaqar, keystonemiddleware.auth_token, oslo.cache, oslo.log,
// oslo.messaging, oslo.middleware.cors, osprofiler, oslo.policy,
// oslo.reports), with their deprecated names. It is derived from
// testdata/zaqar-15.conf.sample; TestZaqar15Options keeps the two in step.
//
//go:embed zaqar15_options.txt
var zaqar15Options string

// extraOptions are options Zaqar and its libraries define or read that
// the generated sample does not list.
var extraOptions = map[string][]string{
	// keystoneauth's common and password-plugin options, which Zaqar
	// registers for both groups (zaqar/common/auth.py), with their
	// deprecated names, and keystonemiddleware's pre-keystoneauth ones.
	"keystone_authtoken": append(keystoneauthOptions, "admin_user", "admin_password", "admin_tenant_name",
		"identity_uri", "auth_admin_prefix", "auth_host", "auth_port", "auth_protocol", "timeout",
		"collect_timing", "split_loggers", "status_code_retries", "connect_retries"),
	"trustee": keystoneauthOptions,
	// oslo.middleware's http_proxy_to_wsgi, in deployments that put it in
	// front of the API.
	"oslo_middleware": {"enable_proxy_headers_parsing"},
	// Written by Zaqar's own devstack plugin though no driver defines them
	// (oslo.config ignores unregistered options).
	"drivers:message_store:redis":         {"database"},
	"drivers:management_store:redis":      {"database"},
	"drivers:management_store:sqlalchemy": {"database"},
	// Defined by earlier releases, still in long-lived files.
	"DEFAULT":                       {"verbose"},
	"drivers:message_store:mongodb": {"gc_threshold"},
}

var keystoneauthOptions = []string{"auth_type", "auth_plugin", "auth_section", "auth_url", "system_scope",
	"domain_id", "domain_name", "project_id", "tenant_id", "tenant-id", "project_name", "tenant_name",
	"tenant-name", "project_domain_id", "project_domain_name", "trust_id", "default_domain_id",
	"default_domain_name", "user_id", "username", "user_name", "user-name", "user_domain_id",
	"user_domain_name", "password"}

// knownOptions maps each section some Zaqar component defines to its
// option names (dashes written as underscores, as oslo.config reads them).
func knownOptions() map[string]map[string]bool {
	known := map[string]map[string]bool{}
	add := func(section, name string) {
		if known[section] == nil {
			known[section] = map[string]bool{}
		}
		known[section][normalize(name)] = true
	}
	for _, line := range strings.Split(zaqar15Options, "\n") {
		if section, name, ok := strings.Cut(strings.TrimSpace(line), " "); ok && !strings.HasPrefix(line, "#") {
			add(section, name)
		}
	}
	for section, names := range extraOptions {
		for _, n := range names {
			add(section, n)
		}
	}
	for _, o := range Options() {
		add(o.Section, o.Name)
	}
	return known
}

// normalize writes an option name as oslo.config compares it: it reads
// "external-port" and "external_port" as the same option.
func normalize(name string) string { return strings.ReplaceAll(name, "-", "_") }

// closest is the name in names nearest to name by edit distance, if it is
// near enough to be a likely typo.
func closest(name string, names map[string]bool) string {
	best, bestD := "", len(name)/3+2
	for n := range names {
		if d := editDistance(name, n); d < bestD || d == bestD && best != "" && n < best {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
