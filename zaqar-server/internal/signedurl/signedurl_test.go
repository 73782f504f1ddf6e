package signedurl

import (
	"testing"
	"time"
)

// TestSignMatchesZaqar pins the signature to one computed by Zaqar's
// create_signed_url (python3, zaqar.common.urls) for the same inputs.
func TestSignMatchesZaqar(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	u := Sign("secret", "proj", []string{"/v2/queues/q/messages", "/v2/queues/q/claims"}, []string{"POST", "GET"}, exp)
	if u.Expires != "2030-01-02T03:04:05" || u.Paths[0] != "/v2/queues/q/claims" || u.Methods[0] != "GET" {
		t.Errorf("Sign = %+v", u)
	}
	if u.Signature != zaqarSignature {
		t.Errorf("signature = %s, want %s", u.Signature, zaqarSignature)
	}
	req := Request{Signature: u.Signature, Expires: u.Expires, Methods: "GET,POST",
		Paths: "/v2/queues/q/claims,/v2/queues/q/messages", Project: "proj", Method: "GET", Path: "/v2/queues/q/messages/abc"}
	if !Verify("secret", req, exp.Add(-time.Hour)) {
		t.Error("Verify refused its own signature")
	}
	if Verify("secret", req, exp.Add(time.Second)) {
		t.Error("Verify accepted an expired URL")
	}
	if Verify("other", req, exp.Add(-time.Hour)) {
		t.Error("Verify accepted another key")
	}
}
