package ltiplatform

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// Browser follows the pages of an LTI launch the way a browser without
// JavaScript would: it submits the forms the pages hold. It keeps
// cookies unless made without a jar (a browser that blocks them).
type Browser struct {
	Client *http.Client
}

// NewBrowser returns a browser; cookies says whether it keeps cookies.
func NewBrowser(cookies bool) *Browser {
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if cookies {
		c.Jar, _ = cookiejar.New(nil)
	}
	return &Browser{Client: c}
}

// Page is a response as the browser saw it.
type Page struct {
	Status int
	URL    *url.URL
	Header http.Header
	Body   []byte
}

// Form is an HTML form of a page.
type Form struct {
	ID     string
	Action string
	Method string
	Values url.Values
}

// Get loads u.
func (b *Browser) Get(u string) (*Page, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return b.Do(req)
}

// Do sends req and reads the page.
func (b *Browser) Do(req *http.Request) (*Page, error) {
	resp, err := b.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &Page{Status: resp.StatusCode, URL: resp.Request.URL, Header: resp.Header, Body: body}, nil
}

// Submit sends f as a browser would: GET with the values in the query,
// POST as a form body, with Origin and Sec-Fetch-Site saying it comes
// from origin (the page that held it).
func (b *Browser) Submit(f *Form, origin string) (*Page, error) {
	var req *http.Request
	var err error
	if strings.EqualFold(f.Method, "post") {
		req, err = http.NewRequest(http.MethodPost, f.Action, strings.NewReader(f.Values.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		u, perr := url.Parse(f.Action)
		if perr != nil {
			return nil, perr
		}
		q := u.Query()
		for k, vs := range f.Values {
			q[k] = vs
		}
		u.RawQuery = q.Encode()
		req, err = http.NewRequest(http.MethodGet, u.String(), nil)
	}
	if err != nil {
		return nil, err
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
		site := "cross-site"
		if o, err := url.Parse(origin); err == nil && o.Host == req.URL.Host {
			site = "same-origin"
		}
		req.Header.Set("Sec-Fetch-Site", site)
	}
	return b.Do(req)
}

// Origin is the origin of the page's URL.
func (pg *Page) Origin() string { return pg.URL.Scheme + "://" + pg.URL.Host }

// Form returns the page's form with the given id, or its first form when
// id is empty.
func (pg *Page) Form(id string) (*Form, error) {
	doc, err := html.Parse(bytes.NewReader(pg.Body))
	if err != nil {
		return nil, err
	}
	var found *Form
	var walk func(n *html.Node, f *Form)
	walk = func(n *html.Node, f *Form) {
		if found != nil && f == nil {
			return
		}
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				if f == nil && (id == "" || attr(n, "id") == id) {
					action, _ := pg.URL.Parse(attr(n, "action"))
					f = &Form{ID: attr(n, "id"), Action: action.String(), Method: attr(n, "method"), Values: url.Values{}}
					found = f
				}
			case "input", "textarea":
				if f != nil && attr(n, "name") != "" && (attr(n, "type") != "checkbox" || hasAttr(n, "checked")) {
					f.Values.Add(attr(n, "name"), attr(n, "value"))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, f)
		}
	}
	walk(doc, nil)
	if found == nil {
		return nil, fmt.Errorf("no form %q in the page (status %d): %.500s", id, pg.Status, pg.Body)
	}
	return found, nil
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

// Launch runs the whole launch of m as a browser without JavaScript that
// keeps cookies would: the tool's login page, the platform's
// authentication, and the post of the id_token back to the tool. It
// returns the page the tool answered the launch with.
func (b *Browser) Launch(p *Platform, m *Message) (*Page, error) {
	login, err := b.Get(p.LoginURL(m, ""))
	if err != nil {
		return nil, err
	}
	auth, err := login.Form("lti-auth")
	if err != nil {
		return nil, err
	}
	post, err := b.Submit(auth, login.Origin())
	if err != nil {
		return nil, err
	}
	f, err := post.Form("f")
	if err != nil {
		return nil, fmt.Errorf("the platform's answer: %w", err)
	}
	return b.Submit(f, p.URL)
}
