// Package player is everything Lectern's pages send to a browser: the HTML
// templates the server renders, and the static files (CSS, the page
// scripts, the vendored hls.js and tus-js-client), all embedded so that the
// binary needs nothing beside it.
//
// Scripts are plain ES modules with no build step. The vendored libraries
// are pinned in package.json and copied by refresh-vendor.sh; see
// README.md in this directory.
package player

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// layoutFile is parsed into every page, as are the partials: the files
// whose names start with "_".
const layoutFile = "templates/layout.html"

// Static returns the files served under /static/: css/, js/ and vendor/.
func Static() fs.FS {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		// fs.Sub fails only for an invalid path; "static" is valid.
		return staticFiles
	}
	return sub
}

// Pages renders Lectern's HTML pages. It is safe for concurrent use.
type Pages struct {
	pages   map[string]*template.Template
	version string
}

// NewPages parses every page template with the shared layout. version is
// a short hash of the static files, appended to asset URLs so that a new
// release is never served stale scripts from a cache.
func NewPages() (*Pages, error) {
	version, err := hashFS(Static())
	if err != nil {
		return nil, fmt.Errorf("player: hash static files: %w", err)
	}
	p := &Pages{pages: map[string]*template.Template{}, version: version}
	files, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("player: list templates: %w", err)
	}
	shared := []string{layoutFile}
	for _, f := range files {
		if isPartial(f) {
			shared = append(shared, f)
		}
	}
	for _, f := range files {
		if f == layoutFile || isPartial(f) {
			continue
		}
		name := strings.TrimSuffix(path.Base(f), ".html")
		t := template.New(name).Funcs(p.funcs())
		t, err := t.ParseFS(templateFiles, append(shared, f)...)
		if err != nil {
			return nil, fmt.Errorf("player: parse %s: %w", f, err)
		}
		p.pages[name] = t
	}
	return p, nil
}

func isPartial(f string) bool { return strings.HasPrefix(path.Base(f), "_") }

// Version is the hash of the static files that asset URLs carry.
func (p *Pages) Version() string { return p.version }

// Names lists the pages Render knows, sorted.
func (p *Pages) Names() []string {
	names := make([]string, 0, len(p.pages))
	for n := range p.pages {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Render writes page name with data. The page is rendered to memory
// first, so that a template error never leaves half a page on the wire.
func (p *Pages) Render(w io.Writer, name string, data any) error {
	t, ok := p.pages[name]
	if !ok {
		return fmt.Errorf("player: no page %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		return fmt.Errorf("player: render %s: %w", name, err)
	}
	_, err := buf.WriteTo(w)
	return err
}

// hashFS returns the first 12 hex digits of a SHA-256 over every file's
// path and content.
func hashFS(fsys fs.FS) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}
