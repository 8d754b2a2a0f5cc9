package testenv

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The tests' OpenID Connect provider is the example server of
// github.com/zitadel/oidc (a certified OpenID Provider library), which
// .ci/run installs as zitadel-oidc-server: an in-memory provider with the
// users it is given, a password login form, and the web client "web"
// (secret "secret") with code flow and PKCE. (Dex, the first choice,
// cannot be built with go install from the module proxy: its v2 releases
// are not a valid module version and the v2.13.0 it offers no longer
// compiles.)
const (
	OIDCProviderBinaryName = "zitadel-oidc-server"
	OIDCClientID           = "web"
	OIDCClientSecret       = "secret"
	needOIDCProvider       = "zitadel-oidc-server (go install github.com/zitadel/oidc/v3/example/server, renamed)"
)

// OIDCUser is an account at the test provider. Its claims: sub (ID),
// email and email_verified, preferred_username (Username), name,
// given_name (FirstName) and family_name (LastName).
type OIDCUser struct {
	ID            string
	Username      string
	Password      string
	FirstName     string
	LastName      string
	Email         string
	EmailVerified bool
}

// OIDCProvider is a running test provider.
type OIDCProvider struct {
	// Issuer is its issuer URL, http://localhost:<port>/.
	Issuer string
}

// OIDCIssuer picks the issuer URL of a provider StartOIDCProvider will
// run, so that the relying party can be configured before its callback
// URL, which the provider must know, exists.
func OIDCIssuer(tb testing.TB) string {
	tb.Helper()
	_, port, _ := net.SplitHostPort(FreeAddr(tb))
	return "http://localhost:" + port + "/"
}

// StartOIDCProvider runs the test provider at issuer (from OIDCIssuer)
// with these users, accepting redirectURI for the client OIDCClientID,
// and returns once it answers discovery. It is stopped when the test
// ends.
func StartOIDCProvider(tb testing.TB, issuer, redirectURI string, users ...OIDCUser) OIDCProvider {
	tb.Helper()
	bin := goBinary(tb, OIDCProviderBinaryName, needOIDCProvider)
	byID := map[string]OIDCUser{}
	for _, u := range users {
		byID[u.ID] = u
	}
	data, err := json.Marshal(byID)
	if err != nil {
		tb.Fatal(err)
	}
	file := filepath.Join(tb.TempDir(), "users.json")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	port := strings.TrimSuffix(issuer[strings.LastIndex(issuer, ":")+1:], "/")
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "PORT="+port, "USERS_FILE="+file, "REDIRECT_URI="+redirectURI)
	logFile, err := os.Create(filepath.Join(tb.TempDir(), "oidc-provider.log"))
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logFile.Close()
		if tb.Failed() {
			if log, err := os.ReadFile(logFile.Name()); err == nil {
				tb.Logf("oidc provider log:\n%s", log)
			}
		}
	})
	hc := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := hc.Get(issuer + ".well-known/openid-configuration")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return OIDCProvider{Issuer: issuer}
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("oidc provider at %s did not come up: %v", issuer, err)
		}
	}
}
