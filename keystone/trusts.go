package keystone

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/trusts"
)

// CreateTrust lets the service user act as the trustor (the owner of
// userToken, whose validated identity is trustor) in the trustor's project
// with roles (nil: all of trustor.Roles) until expiresAt (zero: no expiry).
// The request is made with userToken, as Keystone only lets trustors create
// their trusts. The trust allows impersonation, as Zaqar's
// (zaqar/common/auth.py create_trust_id), so notifications sent with a
// TrustToken act as the trustor. Errors wrap ErrInvalidToken when Keystone
// refuses userToken, ErrUnavailable when it cannot answer.
func (v *Validator) CreateTrust(ctx context.Context, userToken string, trustor Identity, roles []string, expiresAt time.Time) (string, error) {
	if !plausible(userToken) || userToken == "" {
		return "", fmt.Errorf("%w: malformed token", ErrInvalidToken)
	}
	if trustor.UserID == "" || trustor.ProjectID == "" {
		return "", errors.New("keystone: CreateTrust needs the trustor's user and project")
	}
	svc, err := v.serviceToken(ctx)
	if err != nil {
		return "", err
	}
	trustee, err := svc.ExtractUser()
	if err != nil || trustee == nil {
		return "", fmt.Errorf("%w: the service token names no user", ErrUnavailable)
	}
	if roles == nil {
		roles = trustor.Roles
	}
	opts := trusts.CreateOpts{
		TrustorUserID: trustor.UserID,
		TrusteeUserID: trustee.ID,
		ProjectID:     trustor.ProjectID,
		Impersonation: true,
	}
	for _, r := range roles {
		opts.Roles = append(opts.Roles, trusts.Role{Name: r})
	}
	if !expiresAt.IsZero() {
		t := expiresAt.UTC()
		opts.ExpiresAt = &t
	}
	ctx, cancel := context.WithTimeout(ctx, v.cfg.Timeout)
	defer cancel()
	trust, err := trusts.Create(ctx, v.clientWithToken(userToken), opts).Extract()
	if err != nil {
		return "", keystoneError("creating a trust", err, ErrInvalidToken)
	}
	return trust.ID, nil
}

// TrustToken authenticates the service user (the trustee) scoped to trustID
// and returns the token and its expiry; reuse it until shortly before then.
// Errors wrap ErrUnavailable when Keystone cannot answer; a trust that was
// deleted or has expired gives another error.
func (v *Validator) TrustToken(ctx context.Context, trustID string) (string, time.Time, error) {
	if trustID == "" {
		return "", time.Time{}, errors.New("keystone: no trust id")
	}
	ctx, cancel := context.WithTimeout(ctx, v.cfg.Timeout)
	defer cancel()
	// A client without the service token and its re-authentication: a 401
	// here is about the trust.
	r := tokens.Create(ctx, v.clientWithToken(""), v.authOptions(trustID))
	tok, err := r.ExtractToken()
	if err != nil {
		return "", time.Time{}, keystoneError("getting a token for trust "+trustID, err, nil)
	}
	return tok.ID, tok.ExpiresAt, nil
}

// clientWithToken is an identity v3 client sending token (none if empty),
// never re-authenticating.
func (v *Validator) clientWithToken(token string) *gophercloud.ServiceClient {
	p := &gophercloud.ProviderClient{
		IdentityBase:     v.provider.IdentityBase,
		IdentityEndpoint: v.provider.IdentityEndpoint,
		HTTPClient:       *v.httpClient,
		UserAgent:        v.provider.UserAgent,
		TokenID:          token,
	}
	return &gophercloud.ServiceClient{ProviderClient: p, Endpoint: v.identity.Endpoint}
}

// keystoneError maps a gophercloud error of a trust call: 5xx and transport
// errors are ErrUnavailable, 401 wraps on401 when not nil, other statuses
// carry Keystone's message (which for these calls quotes no token).
func keystoneError(what string, err, on401 error) error {
	code, ok := statusOf(err)
	switch {
	case !ok:
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, what, err)
	case code >= 500:
		return fmt.Errorf("%w: %s: Keystone answered %d", ErrUnavailable, what, code)
	case code == http.StatusUnauthorized && on401 != nil:
		return fmt.Errorf("%w: %s: Keystone answered 401: %s", on401, what, keystoneMessage(err))
	default:
		return fmt.Errorf("keystone: %s: Keystone answered %d: %s", what, code, keystoneMessage(err))
	}
}

// keystoneMessage is error.message of Keystone's error document.
func keystoneMessage(err error) string {
	var e gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &e) {
		return ""
	}
	var doc struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(e.Body, &doc) != nil {
		return ""
	}
	return doc.Error.Message
}
