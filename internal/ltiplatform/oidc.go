package ltiplatform

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/lectern/lectern/lti"
)

// Message is an LTI message the platform will send when the tool's
// authentication request names its hint.
type Message struct {
	Hint      string
	Type      string
	Sub       string
	ContextID string
	LinkID    string
	// Edit changes the id_token's claims before they are signed (for
	// tests of what Lectern refuses).
	Edit func(claims map[string]any)
	// Unpublished signs with a key the platform's JWKS does not hold.
	Unpublished bool
	// DeepLinkData is echoed by the tool in its deep linking response.
	DeepLinkData string
}

// ResourceLinkMessage prepares the launch of a resource link by sub.
func (p *Platform) ResourceLinkMessage(sub, linkID string) *Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.links[linkID]
	if l == nil {
		p.t.Fatalf("ltiplatform: no link %q", linkID)
	}
	m := &Message{Hint: "msg-" + randomString(8), Type: lti.MessageResourceLink, Sub: sub, ContextID: l.ContextID, LinkID: linkID}
	p.messages[m.Hint] = m
	return m
}

// DeepLinkingMessage prepares a deep linking request by sub in a context.
func (p *Platform) DeepLinkingMessage(sub, contextID string) *Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := &Message{Hint: "dl-" + randomString(8), Type: lti.MessageDeepLinkingRequest, Sub: sub, ContextID: contextID,
		DeepLinkData: "dl-data-" + randomString(6)}
	p.messages[m.Hint] = m
	return m
}

// DeepLinkReturnURL is where the tool posts its answer to m.
func (p *Platform) DeepLinkReturnURL(m *Message) string { return p.URL + "/deeplink/return/" + m.Hint }

// LoginParams are the parameters of the third-party-initiated login the
// platform starts for m. storageTarget, when not empty, offers LTI
// client-side postMessage storage in that frame ("_parent").
func (p *Platform) LoginParams(m *Message, storageTarget string) url.Values {
	p.mu.Lock()
	tool := p.tool
	p.mu.Unlock()
	target := tool.LaunchURL
	if m.Type == lti.MessageDeepLinkingRequest && tool.DeepLinkURL != "" {
		target = tool.DeepLinkURL
	}
	if target == "" {
		target = tool.RedirectURL
	}
	v := url.Values{
		"iss":               {p.URL},
		"login_hint":        {m.Sub},
		"target_link_uri":   {target},
		"lti_message_hint":  {m.Hint},
		"lti_deployment_id": {p.DeploymentID},
		"client_id":         {p.ClientID},
	}
	if storageTarget != "" {
		v.Set("lti_storage_target", storageTarget)
	}
	return v
}

// LoginURL is the tool's login initiation URL with m's parameters.
func (p *Platform) LoginURL(m *Message, storageTarget string) string {
	p.mu.Lock()
	login := p.tool.LoginURL
	p.mu.Unlock()
	return login + "?" + p.LoginParams(m, storageTarget).Encode()
}

// handleAuth is the OIDC authorization endpoint: it checks the tool's
// authentication request and answers with a page that posts the signed
// id_token and the state to the tool's registered redirect URL.
func (p *Platform) handleAuth(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	q := r.Form
	p.mu.Lock()
	tool := p.tool
	m := p.messages[q.Get("lti_message_hint")]
	p.mu.Unlock()
	switch {
	case q.Get("scope") != "openid":
		http.Error(w, "scope must be openid", http.StatusBadRequest)
	case q.Get("response_type") != "id_token":
		http.Error(w, "response_type must be id_token", http.StatusBadRequest)
	case q.Get("response_mode") != "form_post":
		http.Error(w, "response_mode must be form_post", http.StatusBadRequest)
	case q.Get("prompt") != "none":
		http.Error(w, "prompt must be none", http.StatusBadRequest)
	case q.Get("client_id") != p.ClientID:
		http.Error(w, "unknown client_id", http.StatusBadRequest)
	case q.Get("redirect_uri") != tool.RedirectURL:
		http.Error(w, "redirect_uri is not registered", http.StatusBadRequest)
	case q.Get("nonce") == "" || q.Get("state") == "":
		http.Error(w, "nonce and state are required", http.StatusBadRequest)
	case m == nil:
		http.Error(w, "unknown lti_message_hint", http.StatusBadRequest)
	case q.Get("login_hint") != m.Sub:
		http.Error(w, "login_hint does not match the message", http.StatusBadRequest)
	default:
		token, err := p.idToken(m, q.Get("nonce"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeAutoPost(w, tool.RedirectURL, url.Values{"id_token": {token}, "state": {q.Get("state")}})
	}
}

// idToken builds and signs the id_token of m.
func (p *Platform) idToken(m *Message, nonce string) (string, error) {
	p.mu.Lock()
	claims, err := p.claimsLocked(m, nonce)
	key := p.keys[len(p.keys)-1]
	p.mu.Unlock()
	if err != nil {
		return "", err
	}
	if m.Edit != nil {
		m.Edit(claims)
	}
	if m.Unpublished {
		key = signingKey{kid: "never-published", priv: mustKey(p.t)}
	}
	return sign(key, claims)
}

func (p *Platform) claimsLocked(m *Message, nonce string) (map[string]any, error) {
	u, ok := p.users[m.Sub]
	if !ok {
		return nil, fmt.Errorf("no user %q", m.Sub)
	}
	c := p.contexts[m.ContextID]
	if c == nil {
		return nil, fmt.Errorf("no context %q", m.ContextID)
	}
	var roles []string
	for _, mem := range c.Members {
		if mem.Sub == m.Sub {
			roles = mem.Roles
		}
	}
	if roles == nil {
		roles = []string{}
	}
	now := p.now()
	claims := map[string]any{
		"iss": p.URL, "aud": p.ClientID, "sub": m.Sub, "azp": p.ClientID,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "nonce": nonce,
		"name": u.Name, "email": u.Email,
		lti.ClaimMessageType:  m.Type,
		lti.ClaimVersion:      lti.Version,
		lti.ClaimDeploymentID: p.DeploymentID,
		lti.ClaimRoles:        roles,
		lti.ClaimContext:      map[string]any{"id": c.ID, "title": c.Title, "label": c.ID},
		lti.ClaimNRPS: map[string]any{"context_memberships_url": p.URL + "/nrps/" + url.PathEscape(c.ID),
			"service_versions": []string{"2.0"}},
		lti.ClaimPlatform: map[string]any{"guid": "test-platform", "name": "Test LMS", "product_family_code": "ltiplatform"},
	}
	ags := map[string]any{
		"scope":     []string{lti.ScopeLineItem, lti.ScopeResultRead, lti.ScopeScore},
		"lineitems": p.URL + "/ags/contexts/" + url.PathEscape(c.ID) + "/lineitems",
	}
	switch m.Type {
	case lti.MessageResourceLink:
		l := p.links[m.LinkID]
		claims[lti.ClaimTargetLinkURI] = p.tool.LaunchURL
		if p.tool.LaunchURL == "" {
			claims[lti.ClaimTargetLinkURI] = p.tool.RedirectURL
		}
		claims[lti.ClaimResourceLink] = map[string]any{"id": l.ID, "title": l.Title}
		if len(l.Custom) > 0 {
			claims[lti.ClaimCustom] = l.Custom
		}
		if l.LineItem != "" {
			ags["lineitem"] = p.LineItemURL(l.LineItem)
		}
	case lti.MessageDeepLinkingRequest:
		target := p.tool.DeepLinkURL
		if target == "" {
			target = p.tool.RedirectURL
		}
		claims[lti.ClaimTargetLinkURI] = target
		claims[lti.ClaimDeepLinkingSettings] = map[string]any{
			"deep_link_return_url":                 p.DeepLinkReturnURL(m),
			"accept_types":                         []string{"ltiResourceLink"},
			"accept_presentation_document_targets": []string{"iframe", "window"},
			"accept_multiple":                      true, "accept_lineitem": true, "data": m.DeepLinkData,
		}
	}
	claims[lti.ClaimAGS] = ags
	return claims, nil
}

func sign(k signingKey, claims map[string]any) (string, error) {
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), k.kid)
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k.priv}, opts)
	if err != nil {
		return "", err
	}
	return jwt.Signed(s).Claims(claims).Serialize()
}

// handleJWKS publishes the platform's keys.
func (p *Platform) handleJWKS(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	set := jose.JSONWebKeySet{}
	for _, k := range p.keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.priv.PublicKey, KeyID: k.kid, Algorithm: "RS256", Use: "sig"})
	}
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, set)
}

var autoPost = template.Must(template.New("post").Parse(`<!doctype html>
<html><head><title>Launching…</title></head>
<body><form id="f" method="post" action="{{.Action}}">{{range $k, $vs := .Values}}{{range $vs}}<input type="hidden" name="{{$k}}" value="{{.}}">{{end}}{{end}}
<noscript><button type="submit">Continue</button></noscript></form>
<script>document.getElementById('f').submit();</script></body></html>`))

// writeAutoPost answers with a page that posts values to action.
func writeAutoPost(w http.ResponseWriter, action string, values url.Values) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = autoPost.Execute(w, struct {
		Action string
		Values url.Values
	}{action, values})
}

// knownScopes are the scopes the platform grants tools.
var knownScopes = []string{lti.ScopeNRPS, lti.ScopeLineItem, lti.ScopeLineItemRead, lti.ScopeResultRead, lti.ScopeScore}

func validScope(s string) bool { return slices.Contains(knownScopes, s) }

// IDToken signs the id_token the platform would post for m with nonce,
// without the browser round trip (for tests of the checks alone).
func (p *Platform) IDToken(m *Message, nonce string) (string, error) { return p.idToken(m, nonce) }
