// Package ltiplatform is a real LTI 1.3 platform (an LMS, as far as a tool
// can tell) for Lectern's tests: an HTTP server with its own RSA keys and
// JSON Web Key Set (with key rotation), an OIDC authorization endpoint that
// signs id_tokens as LTI 1.3 Core says, an OAuth 2 client-credentials
// token endpoint that checks the tool's signed assertion against the
// tool's JWKS, Names and Role Provisioning 2.0 and Assignment and Grade
// Services 2.0 endpoints that check the tool's tokens and scopes, a deep
// linking return endpoint that checks the tool's signed response, and a
// course page that embeds the tool in an iframe and offers LTI
// client-side postMessage storage.
//
// It uses github.com/go-jose/go-jose/v4, as the lti package does on
// Lectern's side. Nothing in it is a mock of Lectern: it speaks the
// protocol over HTTP and refuses what a strict platform refuses.
package ltiplatform

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Tool is what the platform's admin entered about the tool (Lectern).
type Tool struct {
	LoginURL    string
	RedirectURL string
	JWKSURL     string
	// DeepLinkURL is where deep linking requests go (the platform's
	// target_link_uri for them); empty means RedirectURL.
	DeepLinkURL string
	// LaunchURL is the target_link_uri of resource link launches; empty
	// means RedirectURL.
	LaunchURL string
}

// User is a person of the platform.
type User struct {
	Sub   string
	Name  string
	Email string
}

// Member is a user's membership of a context.
type Member struct {
	Sub    string
	Roles  []string
	Status string // "Active" (empty), "Inactive" or "Deleted"
}

// Context is a course of the platform.
type Context struct {
	ID      string
	Title   string
	Members []Member
}

// Link is a resource link placed in a context.
type Link struct {
	ID        string
	ContextID string
	Title     string
	Custom    map[string]string
	// LineItem is the id of the link's gradebook column; empty means none.
	LineItem string
}

// LineItem is a gradebook column.
type LineItem struct {
	ID           string
	ContextID    string
	Label        string
	ScoreMaximum float64
	ResourceLink string
}

// Score is a score the tool posted, as received.
type Score struct {
	LineItem         string
	UserID           string
	ScoreGiven       float64
	ScoreMaximum     float64
	ActivityProgress string
	GradingProgress  string
	Timestamp        string
}

// Role URIs of LIS v2 as platforms send them.
const (
	RoleInstructor    = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
	RoleLearner       = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
	RoleAdministrator = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"
)

// signingKey is one of the platform's keys.
type signingKey struct {
	kid  string
	priv *rsa.PrivateKey
}

// Platform is a running test platform. Its methods are safe for
// concurrent use.
type Platform struct {
	// URL is the platform's base URL, also its issuer.
	URL          string
	ClientID     string
	DeploymentID string

	t      testing.TB
	now    func() time.Time
	server *httptest.Server

	mu         sync.Mutex
	tool       Tool
	keys       []signingKey // published; the last one signs
	users      map[string]User
	contexts   map[string]*Context
	links      map[string]*Link
	lineItems  map[string]*LineItem
	messages   map[string]*Message
	tokens     map[string]grant
	jtis       map[string]bool
	scores     []Score
	returned   [][]ReturnedItem
	pageSize   int
	failScores int
	// rosterPages counts the NRPS pages served; denied are scopes the
	// token endpoint refuses to grant.
	rosterPages int
	denied      map[string]bool
	toolKeys    jose.JSONWebKeySet
	seq         int
}

type grant struct {
	scopes  []string
	expires time.Time
}

// Options tune a platform; the zero value is fine.
type Options struct {
	// Host is the loopback address to listen on (127.0.0.2 puts the
	// platform on another site than a tool on 127.0.0.1); empty means
	// 127.0.0.1.
	Host string
	// Now tells the time (for iat/exp); nil means time.Now.
	Now func() time.Time
}

// New starts a platform with one signing key and registers its
// shutdown with t.
func New(t testing.TB, opts Options) *Platform {
	t.Helper()
	p := &Platform{
		t: t, now: opts.Now, ClientID: "lectern-" + randomString(6), DeploymentID: "dep-" + randomString(4),
		users: map[string]User{}, contexts: map[string]*Context{}, links: map[string]*Link{},
		lineItems: map[string]*LineItem{}, messages: map[string]*Message{}, tokens: map[string]grant{},
		jtis: map[string]bool{}, pageSize: 50, denied: map[string]bool{},
	}
	if p.now == nil {
		p.now = time.Now
	}
	p.RotateKey(false)
	host := opts.Host
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatalf("ltiplatform: listen on %s: %v", host, err)
	}
	p.server = &httptest.Server{Listener: ln, Config: &http.Server{Handler: p.routes()}}
	p.server.Start()
	p.URL = p.server.URL
	t.Cleanup(p.server.Close)
	return p
}

// Close stops the platform's server (it is also stopped when the test
// ends).
func (p *Platform) Close() { p.server.Close() }

// Endpoints the tool's admin registers.
func (p *Platform) AuthURL() string  { return p.URL + "/auth" }
func (p *Platform) TokenURL() string { return p.URL + "/token" }
func (p *Platform) JWKSURL() string  { return p.URL + "/jwks" }

// SetTool records what the platform's admin entered about the tool.
func (p *Platform) SetTool(tool Tool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tool = tool
	p.toolKeys = jose.JSONWebKeySet{}
}

// RotateKey makes a new signing key current. With dropOld the previous
// keys leave the JWKS (a platform that replaced its key outright);
// otherwise they stay published.
func (p *Platform) RotateKey(dropOld bool) string {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		p.t.Fatalf("ltiplatform: generate key: %v", err)
	}
	k := signingKey{kid: "platform-key-" + randomString(6), priv: priv}
	p.mu.Lock()
	defer p.mu.Unlock()
	if dropOld {
		p.keys = nil
	}
	p.keys = append(p.keys, k)
	return k.kid
}

// AddUser adds (or replaces) a user.
func (p *Platform) AddUser(u User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.users[u.Sub] = u
}

// AddContext adds a course with its members.
func (p *Platform) AddContext(c Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cc := c
	p.contexts[c.ID] = &cc
}

// SetMembers replaces a context's members (people enrolled or dropped in
// the LMS).
func (p *Platform) SetMembers(contextID string, members []Member) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.contexts[contextID].Members = members
}

// AddLink places a resource link in a context, with a line item when
// scoreMaximum > 0.
func (p *Platform) AddLink(l Link, scoreMaximum float64) *Link {
	p.mu.Lock()
	defer p.mu.Unlock()
	ll := l
	if scoreMaximum > 0 {
		ll.LineItem = p.addLineItemLocked(l.ContextID, l.Title, scoreMaximum, l.ID)
	}
	p.links[l.ID] = &ll
	return &ll
}

func (p *Platform) addLineItemLocked(contextID, label string, max float64, link string) string {
	p.seq++
	id := fmt.Sprintf("li%d", p.seq)
	p.lineItems[id] = &LineItem{ID: id, ContextID: contextID, Label: label, ScoreMaximum: max, ResourceLink: link}
	return id
}

// Links returns the context's resource links (those added by deep
// linking included).
func (p *Platform) Links(contextID string) []Link {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Link
	for _, l := range p.links {
		if l.ContextID == contextID {
			out = append(out, *l)
		}
	}
	return out
}

// LineItemURL is the AGS URL of a line item.
func (p *Platform) LineItemURL(id string) string { return p.URL + "/ags/lineitems/" + id }

// Scores returns the scores received so far, in order.
func (p *Platform) Scores() []Score {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Score(nil), p.scores...)
}

// FailScores makes the next n score posts answer 503.
func (p *Platform) FailScores(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failScores = n
}

// RosterPages is how many NRPS pages the platform has served.
func (p *Platform) RosterPages() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rosterPages
}

// DenyScope makes the token endpoint refuse to grant scope (an LMS whose
// admin took that service away from the tool) and revokes the tokens
// that hold it; or grants it again.
func (p *Platform) DenyScope(scope string, deny bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.denied[scope] = deny
	if deny {
		for tok, g := range p.tokens {
			if slices.Contains(g.scopes, scope) {
				delete(p.tokens, tok)
			}
		}
	}
}

// SetPageSize sets how many members one NRPS page holds.
func (p *Platform) SetPageSize(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pageSize = n
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}
