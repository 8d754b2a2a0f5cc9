package testenv

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// SMTPServer is a real SMTP server (emersion/go-smtp) on loopback that
// keeps what it receives, for tests of Lectern's mail. It offers
// STARTTLS with a certificate made for the test (TLSConfig trusts it)
// and, when Username is set, requires AUTH PLAIN. It can be stopped and
// started again on the same port, to play an outage.
type SMTPServer struct {
	Host string
	Port int
	// Username and Password are the credentials it accepts; empty means
	// it takes mail without AUTH.
	Username, Password string
	// TLSConfig is a client configuration that trusts the server.
	TLSConfig *tls.Config

	serverTLS *tls.Config

	mu      sync.Mutex
	srv     *smtp.Server
	msgs    []SMTPMessage
	arrived chan struct{}
}

// SMTPMessage is one message the server accepted.
type SMTPMessage struct {
	From string
	To   []string
	Data []byte
}

// StartSMTP starts an SMTPServer on a free loopback port; auth says
// whether it requires AUTH PLAIN (as "lectern"/"mail-secret"). It is
// stopped when the test ends.
func StartSMTP(tb testing.TB, auth bool) *SMTPServer {
	tb.Helper()
	serverTLS, clientTLS := selfSignedTLS(tb)
	s := &SMTPServer{Host: "127.0.0.1", TLSConfig: clientTLS, serverTLS: serverTLS, arrived: make(chan struct{})}
	if auth {
		s.Username, s.Password = "lectern", "mail-secret"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("testenv: smtp listen: %v", err)
	}
	s.Port = ln.Addr().(*net.TCPAddr).Port
	s.serve(ln)
	tb.Cleanup(s.Stop)
	return s
}

// Addr is host:port.
func (s *SMTPServer) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

func (s *SMTPServer) serve(ln net.Listener) {
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &smtpSession{s: s}, nil
	}))
	srv.Domain = "localhost"
	srv.TLSConfig = s.serverTLS
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 1 << 20
	srv.ErrorLog = nopLogger{}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// Stop closes the server: connections are refused until Start.
func (s *SMTPServer) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// Start listens again on the same port after Stop.
func (s *SMTPServer) Start(tb testing.TB) {
	tb.Helper()
	ln, err := net.Listen("tcp", s.Addr())
	if err != nil {
		tb.Fatalf("testenv: smtp listen again: %v", err)
	}
	s.serve(ln)
}

// Messages returns what the server has accepted so far.
func (s *SMTPServer) Messages() []SMTPMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SMTPMessage(nil), s.msgs...)
}

// WaitMessages waits up to timeout until the server holds at least n
// messages and returns them all; it fails the test otherwise.
func (s *SMTPServer) WaitMessages(tb testing.TB, n int, timeout time.Duration) []SMTPMessage {
	tb.Helper()
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		msgs, arrived := append([]SMTPMessage(nil), s.msgs...), s.arrived
		s.mu.Unlock()
		if len(msgs) >= n {
			return msgs
		}
		select {
		case <-arrived:
		case <-deadline:
			tb.Fatalf("testenv: smtp server got %d messages within %v, want %d", len(msgs), timeout, n)
		}
	}
}

type smtpSession struct {
	s      *SMTPServer
	authed bool
	msg    SMTPMessage
}

func (ss *smtpSession) AuthMechanisms() []string {
	if ss.s.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != ss.s.Username || password != ss.s.Password {
			return smtp.ErrAuthFailed
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.Username != "" && !ss.authed {
		return smtp.ErrAuthRequired
	}
	ss.msg = SMTPMessage{From: from}
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.msg.To = append(ss.msg.To, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.msg.Data = b
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, ss.msg)
	close(ss.s.arrived)
	ss.s.arrived = make(chan struct{})
	ss.s.mu.Unlock()
	return nil
}

func (ss *smtpSession) Reset()        { ss.msg = SMTPMessage{} }
func (ss *smtpSession) Logout() error { return nil }

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
func (nopLogger) Println(...any)        {}

// selfSignedTLS makes a certificate for 127.0.0.1 and localhost, and a
// client configuration that trusts only it.
func selfSignedTLS(tb testing.TB) (server, client *tls.Config) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "lectern test smtp"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}}
	client = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	return server, client
}

// Parse reads the message as a mail reader would: its headers, and its
// body decoded from quoted-printable when it says so.
func (m SMTPMessage) Parse(tb testing.TB) (mail.Header, string) {
	tb.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		tb.Fatalf("testenv: read mail: %v\n%s", err, m.Data)
	}
	var body io.Reader = msg.Body
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		tb.Fatalf("testenv: read mail body: %v", err)
	}
	return msg.Header, string(b)
}

// Link returns the first URL in the message's body that starts with
// prefix, failing the test when there is none.
func (m SMTPMessage) Link(tb testing.TB, prefix string) string {
	tb.Helper()
	_, body := m.Parse(tb)
	for _, f := range strings.Fields(body) {
		if strings.HasPrefix(f, prefix) {
			return f
		}
	}
	tb.Fatalf("testenv: no link starting with %s in mail:\n%s", prefix, body)
	return ""
}
