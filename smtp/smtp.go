// Package smtp sends Lectern's mail through an SMTP server with the
// standard library's net/smtp: implicit TLS, STARTTLS (required, never
// skipped when the server does not offer it) or, on a trusted network,
// plain text, with optional AUTH PLAIN.
package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	netsmtp "net/smtp"
	"net/textproto"
	"strconv"
	"time"
)

// Security modes of Config.Security.
const (
	// StartTLS connects in plain text and upgrades with STARTTLS before
	// anything else is said; a server that does not offer it is an error.
	StartTLS = "starttls"
	// TLS speaks TLS from the first byte (SMTPS, usually port 465).
	TLS = "tls"
	// None sends in plain text, for a relay on the same host or network.
	None = "none"
)

// DefaultTimeout bounds one delivery: dialling, the TLS handshake and the
// whole SMTP conversation.
const DefaultTimeout = 30 * time.Second

// Config says how to reach the SMTP server.
type Config struct {
	Host     string
	Port     int
	Security string
	// Username and Password log in with AUTH PLAIN; an empty Username
	// sends without logging in.
	Username string
	Password string
	// TLSConfig is used for TLS and STARTTLS; nil means the system's
	// roots with Host as the server name.
	TLSConfig *tls.Config
	// Timeout bounds one delivery; zero means DefaultTimeout.
	Timeout time.Duration
}

// DefaultPort is the usual port of a security mode.
func DefaultPort(security string) int {
	switch security {
	case TLS:
		return 465
	case None:
		return 25
	}
	return 587
}

// Validate checks c. Credentials are refused over plain text to anything
// but loopback, where net/smtp would refuse them at every send anyway.
func (c Config) Validate() error {
	if c.Host == "" {
		return errors.New("smtp: host is required")
	}
	if c.Port < 1 || c.Port > 65535 {
		return fmt.Errorf("smtp: port %d is out of range", c.Port)
	}
	switch c.Security {
	case StartTLS, TLS:
	case None:
		if c.Username != "" && !isLoopback(c.Host) {
			return errors.New("smtp: a username and password are sent only over TLS or STARTTLS (or to localhost)")
		}
	default:
		return fmt.Errorf("smtp: security must be starttls, tls or none, got %q", c.Security)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Client sends mail. It opens one connection per message: Lectern sends
// little mail, and a fresh connection never finds a server that timed
// the previous one out. It is safe for concurrent use.
type Client struct {
	cfg Config
}

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	return &Client{cfg: cfg}, nil
}

// Addr is host:port of the SMTP server.
func (c *Client) Addr() string { return net.JoinHostPort(c.cfg.Host, strconv.Itoa(c.cfg.Port)) }

// Error is a refusal by the SMTP server.
type Error struct {
	Op   string
	Code int
	Msg  string
}

// Error implements the error interface.
func (e *Error) Error() string { return fmt.Sprintf("smtp %s: %d %s", e.Op, e.Code, e.Msg) }

// Permanent reports whether the server refused for good (a 5xx reply):
// sending the same message again would get the same answer.
func (e *Error) Permanent() bool { return e.Code >= 500 }

// Send delivers msg from from to the recipients.
func (c *Client) Send(ctx context.Context, from string, to []string, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	conn, err := c.dial(ctx)
	if err != nil {
		return err
	}
	// net/smtp has no contexts: the deadline bounds every read and write,
	// and closing the connection when ctx ends cuts a stuck one short.
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	cl, err := netsmtp.NewClient(conn, c.cfg.Host)
	if err != nil {
		conn.Close()
		return c.fail("greeting", err)
	}
	defer cl.Close()
	if err := c.converse(cl, from, to, msg); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("smtp %s: %w", c.Addr(), ctx.Err())
		}
		return err
	}
	return nil
}

func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.Addr())
	if err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	if c.cfg.Security != TLS {
		return conn, nil
	}
	tc := tls.Client(conn, c.tlsConfig())
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("smtp %s: tls: %w", c.Addr(), err)
	}
	return tc, nil
}

func (c *Client) tlsConfig() *tls.Config {
	if c.cfg.TLSConfig != nil {
		return c.cfg.TLSConfig.Clone()
	}
	return &tls.Config{ServerName: c.cfg.Host, MinVersion: tls.VersionTLS12}
}

func (c *Client) converse(cl *netsmtp.Client, from string, to []string, msg []byte) error {
	if c.cfg.Security == StartTLS {
		if ok, _ := cl.Extension("STARTTLS"); !ok {
			return fmt.Errorf("smtp %s: the server does not offer STARTTLS", c.Addr())
		}
		if err := cl.StartTLS(c.tlsConfig()); err != nil {
			return c.fail("starttls", err)
		}
	}
	if c.cfg.Username != "" {
		if err := cl.Auth(netsmtp.PlainAuth("", c.cfg.Username, c.cfg.Password, c.cfg.Host)); err != nil {
			return c.fail("auth", err)
		}
	}
	if err := cl.Mail(from); err != nil {
		return c.fail("mail from", err)
	}
	for _, rcpt := range to {
		if err := cl.Rcpt(rcpt); err != nil {
			return c.fail("rcpt to", err)
		}
	}
	w, err := cl.Data()
	if err != nil {
		return c.fail("data", err)
	}
	if _, err := w.Write(msg); err != nil {
		return c.fail("data", err)
	}
	if err := w.Close(); err != nil {
		return c.fail("data", err)
	}
	// The message is accepted once DATA is answered; a failed QUIT does
	// not make it unsent.
	_ = cl.Quit()
	return nil
}

// fail turns a reply of the server into an *Error and anything else
// (a broken connection, a TLS failure) into a plain error.
func (c *Client) fail(op string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) {
		return &Error{Op: op, Code: te.Code, Msg: te.Msg}
	}
	return fmt.Errorf("smtp %s %s: %w", c.Addr(), op, err)
}
