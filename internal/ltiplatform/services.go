package ltiplatform

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/lectern/lectern/lti"
)

func (p *Platform) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /jwks", p.handleJWKS)
	mux.HandleFunc("/auth", p.handleAuth)
	mux.HandleFunc("POST /token", p.handleToken)
	mux.HandleFunc("GET /nrps/{context}", p.handleRoster)
	mux.HandleFunc("POST /ags/lineitems/{id}/scores", p.handleScore)
	mux.HandleFunc("POST /deeplink/return/{hint}", p.handleDeepLinkReturn)
	mux.HandleFunc("GET /course/{context}/links/{link}", p.handleCoursePage)
	mux.HandleFunc("GET /course/{context}/add", p.handleAddPage)
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func mustKey(t testing.TB) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("ltiplatform: generate key: %v", err)
	}
	return k
}

// verifyToolJWT checks a JWT the tool signed against the tool's JWKS,
// fetched (again when the key id is not known yet).
func (p *Platform) verifyToolJWT(raw string, claims ...any) error {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return fmt.Errorf("not a signed JWT: %w", err)
	}
	kid := tok.Headers[0].KeyID
	p.mu.Lock()
	keys := p.toolKeys.Key(kid)
	jwksURL := p.tool.JWKSURL
	p.mu.Unlock()
	if len(keys) == 0 {
		resp, err := http.Get(jwksURL)
		if err != nil {
			return fmt.Errorf("fetch tool jwks: %w", err)
		}
		defer resp.Body.Close()
		var set jose.JSONWebKeySet
		if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
			return fmt.Errorf("decode tool jwks: %w", err)
		}
		p.mu.Lock()
		p.toolKeys = set
		p.mu.Unlock()
		keys = set.Key(kid)
	}
	if len(keys) == 0 {
		return fmt.Errorf("the tool's JWKS has no key %q", kid)
	}
	return tok.Claims(keys[0].Key, claims...)
}

// handleToken is the client-credentials token endpoint (RFC 7523
// assertions, as LTI Advantage's security framework requires).
func (p *Platform) handleToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	f := r.PostForm
	if f.Get("grant_type") != "client_credentials" ||
		f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "client_credentials with a jwt-bearer assertion only")
		return
	}
	var c jwt.Claims
	if err := p.verifyToolJWT(f.Get("client_assertion"), &c); err != nil {
		oauthError(w, http.StatusUnauthorized, "invalid_client", err.Error())
		return
	}
	now := p.now()
	p.mu.Lock()
	replay := p.jtis[c.ID]
	p.jtis[c.ID] = true
	p.mu.Unlock()
	switch {
	case c.Issuer != p.ClientID || c.Subject != p.ClientID:
		oauthError(w, http.StatusUnauthorized, "invalid_client", "iss and sub must be the client id")
		return
	case !c.Audience.Contains(p.TokenURL()):
		oauthError(w, http.StatusUnauthorized, "invalid_client", "aud must be the token URL")
		return
	case c.ID == "" || replay:
		oauthError(w, http.StatusUnauthorized, "invalid_client", "jti missing or already used")
		return
	case c.ValidateWithLeeway(jwt.Expected{Time: now}, time.Minute) != nil:
		oauthError(w, http.StatusUnauthorized, "invalid_client", "assertion expired")
		return
	}
	scopes := strings.Fields(f.Get("scope"))
	for _, s := range scopes {
		p.mu.Lock()
		denied := p.denied[s]
		p.mu.Unlock()
		if !validScope(s) || denied {
			oauthError(w, http.StatusBadRequest, "invalid_scope", "scope not granted to this tool: "+s)
			return
		}
	}
	token := "at-" + randomString(24)
	p.mu.Lock()
	p.tokens[token] = grant{scopes: scopes, expires: now.Add(time.Hour)}
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": token, "token_type": "Bearer",
		"expires_in": 3600, "scope": strings.Join(scopes, " ")})
}

// authorize checks the request's bearer token for scope.
func (p *Platform) authorize(w http.ResponseWriter, r *http.Request, scope string) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	p.mu.Lock()
	g, known := p.tokens[token]
	p.mu.Unlock()
	switch {
	case !ok || !known || p.now().After(g.expires):
		oauthError(w, http.StatusUnauthorized, "invalid_token", "unknown or expired access token")
		return false
	case !slices.Contains(g.scopes, scope):
		oauthError(w, http.StatusForbidden, "insufficient_scope", "the token lacks "+scope)
		return false
	}
	return true
}

// handleRoster is the NRPS 2.0 context membership service, paged with
// Link rel="next".
func (p *Platform) handleRoster(w http.ResponseWriter, r *http.Request) {
	if !p.authorize(w, r, lti.ScopeNRPS) {
		return
	}
	p.mu.Lock()
	c := p.contexts[r.PathValue("context")]
	var members []map[string]any
	if c != nil {
		for _, m := range c.Members {
			u := p.users[m.Sub]
			status := m.Status
			if status == "" {
				status = "Active"
			}
			members = append(members, map[string]any{"user_id": m.Sub, "name": u.Name, "email": u.Email,
				"roles": m.Roles, "status": status})
		}
	}
	size := p.pageSize
	p.rosterPages++
	p.mu.Unlock()
	if c == nil {
		http.NotFound(w, r)
		return
	}
	if accept := r.Header.Get("Accept"); accept != "" && !strings.Contains(accept, lti.MediaTypeNRPS) &&
		!strings.Contains(accept, "application/json") && !strings.Contains(accept, "*/*") {
		http.Error(w, "this service answers "+lti.MediaTypeNRPS, http.StatusNotAcceptable)
		return
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	from := min(page*size, len(members))
	to := min(from+size, len(members))
	if to < len(members) {
		next := *r.URL
		q := next.Query()
		q.Set("page", strconv.Itoa(page+1))
		next.RawQuery = q.Encode()
		w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, p.URL, next.RequestURI()))
	}
	w.Header().Set("Content-Type", lti.MediaTypeNRPS)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": p.URL + r.URL.RequestURI(), "context": map[string]string{"id": c.ID, "title": c.Title},
		"members": members[from:to],
	})
}

// handleScore is the AGS 2.0 scores endpoint of a line item.
func (p *Platform) handleScore(w http.ResponseWriter, r *http.Request) {
	if !p.authorize(w, r, lti.ScopeScore) {
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != lti.MediaTypeScore {
		http.Error(w, "Content-Type must be "+lti.MediaTypeScore, http.StatusUnsupportedMediaType)
		return
	}
	p.mu.Lock()
	li := p.lineItems[r.PathValue("id")]
	fail := p.failScores > 0
	if fail {
		p.failScores--
	}
	p.mu.Unlock()
	if li == nil {
		http.NotFound(w, r)
		return
	}
	if fail {
		http.Error(w, "gradebook is down for maintenance", http.StatusServiceUnavailable)
		return
	}
	var s struct {
		UserID           string   `json:"userId"`
		ScoreGiven       *float64 `json:"scoreGiven"`
		ScoreMaximum     *float64 `json:"scoreMaximum"`
		ActivityProgress string   `json:"activityProgress"`
		GradingProgress  string   `json:"gradingProgress"`
		Timestamp        string   `json:"timestamp"`
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := json.Unmarshal(body, &s); err != nil {
		http.Error(w, "bad score JSON", http.StatusBadRequest)
		return
	}
	if _, err := time.Parse(time.RFC3339Nano, s.Timestamp); err != nil || s.UserID == "" ||
		s.ActivityProgress == "" || s.GradingProgress == "" ||
		(s.ScoreGiven != nil && (s.ScoreMaximum == nil || *s.ScoreGiven < 0 || *s.ScoreMaximum <= 0)) {
		http.Error(w, "score needs userId, timestamp, activityProgress, gradingProgress and a valid scoreGiven/scoreMaximum", http.StatusBadRequest)
		return
	}
	sc := Score{LineItem: li.ID, UserID: s.UserID, ActivityProgress: s.ActivityProgress,
		GradingProgress: s.GradingProgress, Timestamp: s.Timestamp}
	if s.ScoreGiven != nil {
		sc.ScoreGiven, sc.ScoreMaximum = *s.ScoreGiven, *s.ScoreMaximum
	}
	p.mu.Lock()
	p.scores = append(p.scores, sc)
	p.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// ReturnedItem is a content item a deep linking response carried.
type ReturnedItem struct {
	Type      string
	Title     string
	URL       string
	Thumbnail string
	Custom    map[string]string
	LineItem  *lti.LineItem
	// LinkID is the resource link the platform made of it.
	LinkID string
}

// Returned returns the deep linking responses received, in order.
func (p *Platform) Returned() [][]ReturnedItem {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([][]ReturnedItem(nil), p.returned...)
}

// handleDeepLinkReturn takes the tool's deep linking response: a JWT the
// tool signed, checked against the tool's JWKS; each resource link item
// becomes a link of the context (with a line item when asked).
func (p *Platform) handleDeepLinkReturn(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	m := p.messages[r.PathValue("hint")]
	p.mu.Unlock()
	if m == nil {
		http.Error(w, "unknown deep linking request", http.StatusNotFound)
		return
	}
	var std jwt.Claims
	var c struct {
		Nonce       string            `json:"nonce"`
		MessageType string            `json:"https://purl.imsglobal.org/spec/lti/claim/message_type"`
		Version     string            `json:"https://purl.imsglobal.org/spec/lti/claim/version"`
		Deployment  string            `json:"https://purl.imsglobal.org/spec/lti/claim/deployment_id"`
		Data        string            `json:"https://purl.imsglobal.org/spec/lti-dl/claim/data"`
		Items       []json.RawMessage `json:"https://purl.imsglobal.org/spec/lti-dl/claim/content_items"`
	}
	if err := p.verifyToolJWT(r.PostFormValue("JWT"), &std, &c); err != nil {
		http.Error(w, "deep linking response: "+err.Error(), http.StatusBadRequest)
		return
	}
	switch {
	case std.Issuer != p.ClientID || !std.Audience.Contains(p.URL):
		http.Error(w, "iss must be the client id and aud the platform", http.StatusBadRequest)
		return
	case c.MessageType != lti.MessageDeepLinkingResponse || c.Version != lti.Version || c.Nonce == "":
		http.Error(w, "not an LTI 1.3 deep linking response", http.StatusBadRequest)
		return
	case c.Deployment != p.DeploymentID || c.Data != m.DeepLinkData:
		http.Error(w, "deployment or data do not match the request", http.StatusBadRequest)
		return
	case std.ValidateWithLeeway(jwt.Expected{Time: p.now()}, time.Minute) != nil:
		http.Error(w, "deep linking response expired", http.StatusBadRequest)
		return
	}
	var got []ReturnedItem
	for _, raw := range c.Items {
		var it lti.ContentItem
		if err := json.Unmarshal(raw, &it); err != nil {
			http.Error(w, "bad content item", http.StatusBadRequest)
			return
		}
		ri := ReturnedItem{Type: it.Type, Title: it.Title, URL: it.URL, Custom: it.Custom, LineItem: it.LineItem}
		if it.Thumbnail != nil {
			ri.Thumbnail = it.Thumbnail.URL
		}
		if it.Type != lti.TypeResourceLink {
			http.Error(w, "content item of type "+it.Type+" was not asked for (accept_types is ltiResourceLink)", http.StatusBadRequest)
			return
		}
		max := 0.0
		if it.LineItem != nil {
			max = it.LineItem.ScoreMaximum
		}
		ri.LinkID = "link-" + randomString(6)
		p.AddLink(Link{ID: ri.LinkID, ContextID: m.ContextID, Title: it.Title, Custom: it.Custom}, max)
		got = append(got, ri)
	}
	p.mu.Lock()
	p.returned = append(p.returned, got)
	p.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><title>Added</title><p id=added>Added %d item(s) to the course.</p>", len(got))
}

// AddPageURL is the platform's "add an activity" page of a course: it
// shows sub the tool's deep linking picker in an iframe.
func (p *Platform) AddPageURL(contextID, sub string) string {
	return p.URL + "/course/" + url.PathEscape(contextID) + "/add?user=" + url.QueryEscape(sub)
}

// LaunchPageURL is the platform's course page that shows link to sub in
// an iframe.
func (p *Platform) LaunchPageURL(contextID, linkID, sub string) string {
	return p.URL + "/course/" + url.PathEscape(contextID) + "/links/" + url.PathEscape(linkID) + "?user=" + url.QueryEscape(sub)
}
