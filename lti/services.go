package lti

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

// tokenMargin is how long before its expiry an access token is replaced.
const tokenMargin = 30 * time.Second

// maxServiceBody bounds what Lectern reads of a service's answer.
const maxServiceBody = 4 << 20

// ServiceError is a platform service's failure: the status (0 when it
// could not be reached) and what it said.
type ServiceError struct {
	Op     string
	Status int
	Body   string
	Err    error
}

func (e *ServiceError) Error() string {
	switch {
	case e.Err != nil:
		return fmt.Sprintf("lti: %s: %v", e.Op, e.Err)
	case e.Body != "":
		return fmt.Sprintf("lti: %s: status %d: %.300s", e.Op, e.Status, e.Body)
	}
	return fmt.Sprintf("lti: %s: status %d", e.Op, e.Status)
}

// Unwrap returns the transport error, if any.
func (e *ServiceError) Unwrap() error { return e.Err }

// Temporary reports whether trying again later may work: the platform
// was unreachable, throttled or failing (5xx, 429, 408), or the token was
// refused (401, after which a fresh token is fetched).
func (e *ServiceError) Temporary() bool {
	return e.Status == 0 || e.Status >= 500 || e.Status == http.StatusTooManyRequests ||
		e.Status == http.StatusRequestTimeout || e.Status == http.StatusUnauthorized
}

// Services calls one platform's LTI Advantage services with OAuth 2
// client-credentials tokens obtained with a JWT signed by Lectern's key
// (RFC 7523). Tokens are cached per set of scopes until shortly before
// they expire. It is safe for concurrent use.
type Services struct {
	Client   *http.Client
	TokenURL string
	ClientID string
	// Key signs the client assertions.
	Key func(context.Context) (*Key, error)
	Now func() time.Time

	mu     sync.Mutex
	tokens map[string]accessToken
}

type accessToken struct {
	value   string
	expires time.Time
}

// AccessToken returns a bearer token for scopes, cached or fresh.
func (s *Services) AccessToken(ctx context.Context, scopes ...string) (string, error) {
	scopes = slices.Clone(scopes)
	slices.Sort(scopes)
	scope := strings.Join(scopes, " ")
	s.mu.Lock()
	t, ok := s.tokens[scope]
	s.mu.Unlock()
	if ok && s.Now().Before(t.expires.Add(-tokenMargin)) {
		return t.value, nil
	}
	t, err := s.fetchToken(ctx, scope)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	if s.tokens == nil {
		s.tokens = map[string]accessToken{}
	}
	s.tokens[scope] = t
	s.mu.Unlock()
	return t.value, nil
}

// dropToken forgets the cached token for scopes (the platform refused it).
func (s *Services) dropToken(scopes ...string) {
	scopes = slices.Clone(scopes)
	slices.Sort(scopes)
	s.mu.Lock()
	delete(s.tokens, strings.Join(scopes, " "))
	s.mu.Unlock()
}

func (s *Services) fetchToken(ctx context.Context, scope string) (accessToken, error) {
	key, err := s.Key(ctx)
	if err != nil {
		return accessToken{}, err
	}
	now := s.Now()
	assertion, err := key.Sign(jwt.Claims{
		Issuer: s.ClientID, Subject: s.ClientID, Audience: jwt.Audience{s.TokenURL},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now.Add(-Leeway)),
		Expiry: jwt.NewNumericDate(now.Add(MessageLifetime)), ID: randomID(),
	})
	if err != nil {
		return accessToken{}, err
	}
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {assertion},
		"scope":                 {scope},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return accessToken{}, &ServiceError{Op: "token request", Err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	var body struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if _, err := s.do(req, "token request", &body); err != nil {
		return accessToken{}, err
	}
	if body.AccessToken == "" || !strings.EqualFold(body.TokenType, "bearer") {
		return accessToken{}, &ServiceError{Op: "token request", Status: http.StatusOK, Body: "no bearer access_token in the answer"}
	}
	if body.ExpiresIn <= 0 {
		body.ExpiresIn = 3600
	}
	return accessToken{value: body.AccessToken, expires: now.Add(time.Duration(body.ExpiresIn) * time.Second)}, nil
}

// do sends req and decodes a 2xx JSON answer into out (when not nil).
func (s *Services) do(req *http.Request, op string, out any) (http.Header, error) {
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, &ServiceError{Op: op, Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxServiceBody))
	if err != nil {
		return nil, &ServiceError{Op: op, Err: err}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &ServiceError{Op: op, Status: resp.StatusCode, Body: string(body)}
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return nil, &ServiceError{Op: op, Status: resp.StatusCode, Err: fmt.Errorf("decode: %w", err)}
		}
	}
	return resp.Header, nil
}

// authorized sends a request with a token for scope, fetching a fresh
// token once if the platform refuses the cached one.
func (s *Services) authorized(ctx context.Context, op, scope string, build func() (*http.Request, error), out any) (http.Header, error) {
	for attempt := 0; ; attempt++ {
		token, err := s.AccessToken(ctx, scope)
		if err != nil {
			return nil, err
		}
		req, err := build()
		if err != nil {
			return nil, &ServiceError{Op: op, Err: err}
		}
		req.Header.Set("Authorization", "Bearer "+token)
		h, err := s.do(req, op, out)
		var se *ServiceError
		if attempt == 0 && asServiceError(err, &se) && se.Status == http.StatusUnauthorized {
			s.dropToken(scope)
			continue
		}
		return h, err
	}
}

func asServiceError(err error, target **ServiceError) bool {
	se, ok := err.(*ServiceError)
	if ok {
		*target = se
	}
	return ok
}

// Member is one person of an NRPS membership container.
type Member struct {
	UserID     string   `json:"user_id"`
	Status     string   `json:"status,omitempty"`
	Name       string   `json:"name,omitempty"`
	GivenName  string   `json:"given_name,omitempty"`
	FamilyName string   `json:"family_name,omitempty"`
	Email      string   `json:"email,omitempty"`
	Roles      []string `json:"roles"`
}

// Active reports whether the member is active (the default).
func (m *Member) Active() bool { return m.Status == "" || strings.EqualFold(m.Status, "Active") }

// DisplayName is the member's name as the platform gives it.
func (m *Member) DisplayName() string {
	if n := strings.TrimSpace(m.Name); n != "" {
		return n
	}
	return strings.TrimSpace(strings.TrimSpace(m.GivenName) + " " + strings.TrimSpace(m.FamilyName))
}

// maxRosterPages bounds the pages one roster read follows.
const maxRosterPages = 1000

// Roster reads every page of the context memberships at url, following
// the Link header's rel="next" as NRPS 2.0 pages it, and returns the
// members.
func (s *Services) Roster(ctx context.Context, membershipsURL string) ([]Member, error) {
	var all []Member
	next := membershipsURL
	for page := 0; next != ""; page++ {
		if page == maxRosterPages {
			return nil, &ServiceError{Op: "roster", Body: fmt.Sprintf("more than %d pages", maxRosterPages)}
		}
		var body struct {
			Members []Member `json:"members"`
		}
		u := next
		h, err := s.authorized(ctx, "roster", ScopeNRPS, func() (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			if err == nil {
				req.Header.Set("Accept", MediaTypeNRPS)
			}
			return req, err
		}, &body)
		if err != nil {
			return nil, err
		}
		all = append(all, body.Members...)
		next = nextLink(h.Values("Link"), u)
	}
	return all, nil
}

// nextLink returns the rel="next" target of Link headers, resolved
// against base, or "".
func nextLink(links []string, base string) string {
	for _, h := range links {
		for _, part := range strings.Split(h, ",") {
			target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			for _, p := range strings.Split(params, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(k, "rel") && slices.Contains(strings.Fields(strings.Trim(v, `"`)), "next") {
					b, err1 := url.Parse(base)
					t, err2 := url.Parse(target[1 : len(target)-1])
					if err1 != nil || err2 != nil {
						return ""
					}
					return b.ResolveReference(t).String()
				}
			}
		}
	}
	return ""
}

// Score is an AGS 2.0 score.
type Score struct {
	UserID           string    `json:"userId"`
	ScoreGiven       float64   `json:"scoreGiven"`
	ScoreMaximum     float64   `json:"scoreMaximum"`
	Comment          string    `json:"comment,omitempty"`
	Timestamp        time.Time `json:"timestamp"`
	ActivityProgress string    `json:"activityProgress"`
	GradingProgress  string    `json:"gradingProgress"`
}

// Activity and grading progress values of a Score.
const (
	ActivityInitialized = "Initialized"
	ActivityStarted     = "Started"
	ActivityInProgress  = "InProgress"
	ActivitySubmitted   = "Submitted"
	ActivityCompleted   = "Completed"
	GradingFullyGraded  = "FullyGraded"
	GradingPending      = "Pending"
	GradingNotReady     = "NotReady"
)

// ScoresURL is the scores endpoint of a line item: "/scores" added to the
// path, the query kept (AGS 2.0, 3.4).
func ScoresURL(lineItem string) (string, error) {
	u, err := url.Parse(lineItem)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("lti: line item %q is not an http(s) URL", lineItem)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/scores"
	u.RawPath = ""
	return u.String(), nil
}

// PostScore sends sc to the line item's scores endpoint.
func (s *Services) PostScore(ctx context.Context, lineItem string, sc Score) error {
	target, err := ScoresURL(lineItem)
	if err != nil {
		return &ServiceError{Op: "post score", Err: err}
	}
	body, err := json.Marshal(sc)
	if err != nil {
		return &ServiceError{Op: "post score", Err: err}
	}
	_, err = s.authorized(ctx, "post score", ScopeScore, func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", MediaTypeScore)
		}
		return req, err
	}, nil)
	return err
}

// randomID returns a random JWT id.
func randomID() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
