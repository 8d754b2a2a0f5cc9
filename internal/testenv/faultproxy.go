package testenv

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// FaultProxy is a TCP proxy (toxiproxy, in the test process) between the
// code under test and a real service, through which a test cuts the link
// or slows it down. Nothing is mocked: the bytes are the service's own.
type FaultProxy struct {
	tb    testing.TB
	proxy *toxiproxy.Proxy
	// Addr is where the proxy listens ("127.0.0.1:port"); it stays the
	// same across Cut and Restore.
	Addr string
}

// chunkCountType is the toxic that counts what passes (see CountWrites).
const chunkCountType = "lectern_chunk_count"

func init() {
	// toxiproxy knows toxic types by name, in a registry of its own.
	toxics.Register(chunkCountType, new(chunkCount))
}

// NewFaultProxy starts a proxy to upstream ("host:port") on a free
// loopback port. It is stopped when the test ends.
func NewFaultProxy(tb testing.TB, upstream string) *FaultProxy {
	tb.Helper()
	api := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p := toxiproxy.NewProxy(api, "lectern-"+randomSuffix(), "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		tb.Fatalf("testenv: start proxy to %s: %v", upstream, err)
	}
	tb.Cleanup(p.Stop)
	return &FaultProxy{tb: tb, proxy: p, Addr: p.Listen}
}

// ProxyURL returns rawURL (postgres://…, redis://…) with its host and port
// replaced by the proxy's, so that a client given it goes through p.
func (p *FaultProxy) ProxyURL(rawURL string) string {
	p.tb.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		p.tb.Fatalf("testenv: parse %q: %v", rawURL, err)
	}
	u.Host = p.Addr
	return u.String()
}

// URLHostPort returns the host:port of a service URL, for NewFaultProxy.
func URLHostPort(tb testing.TB, rawURL string) string {
	tb.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		tb.Fatalf("testenv: parse %q: %v", rawURL, err)
	}
	if u.Port() == "" {
		tb.Fatalf("testenv: %q names no port", rawURL)
	}
	return u.Host
}

// Cut takes the service away, as a restart does: every connection through
// the proxy is closed and new ones are refused until Restore.
func (p *FaultProxy) Cut() { p.proxy.Stop() }

// Restore lets connections through again, on the same address.
func (p *FaultProxy) Restore() {
	p.tb.Helper()
	// The port was free a moment ago; another process may take it in
	// between, so try for a little while.
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err = p.proxy.Start(); err == nil {
			return
		}
	}
	p.tb.Fatalf("testenv: restore proxy on %s: %v", p.Addr, err)
}

// AddLatency delays everything the service sends back by latency ± jitter,
// so that every round trip takes that much longer. It applies to
// connections open now and to new ones, until RemoveLatency.
func (p *FaultProxy) AddLatency(latency, jitter time.Duration) {
	p.tb.Helper()
	p.addToxic(fmt.Sprintf(`{"name":"latency","type":"latency","stream":"downstream","attributes":{"latency":%d,"jitter":%d}}`,
		latency.Milliseconds(), jitter.Milliseconds()))
}

// RemoveLatency undoes AddLatency.
func (p *FaultProxy) RemoveLatency() {
	p.tb.Helper()
	if err := p.proxy.Toxics.RemoveToxic(context.Background(), "latency"); err != nil {
		p.tb.Fatalf("testenv: remove latency: %v", err)
	}
}

// LimitRate caps what the service sends back on each connection to
// kbPerSecond kilobytes a second, open connections and new ones alike,
// until Heal: a download through the proxy crawls.
func (p *FaultProxy) LimitRate(kbPerSecond int) {
	p.tb.Helper()
	p.addToxic(fmt.Sprintf(`{"name":"bandwidth","type":"bandwidth","stream":"downstream","attributes":{"rate":%d}}`, kbPerSecond))
}

// ResetPeer resets every connection, new or open, as soon as data flows
// (TCP RST), until Heal: the service is reachable but drops everything.
func (p *FaultProxy) ResetPeer() {
	p.tb.Helper()
	p.addToxic(`{"name":"reset","type":"reset_peer","stream":"upstream","attributes":{"timeout":0}}`)
}

// Heal removes every fault (latency, resets, counters), keeping the proxy
// up.
func (p *FaultProxy) Heal() {
	p.proxy.Toxics.ResetToxics(context.Background())
}

// CountWrites starts counting what the client sends to the service: one
// count per write that reaches the proxy, which for request-response
// protocols such as PostgreSQL's and Redis's is one per round trip (a
// client sends a request, or a pipeline of them, then waits). The
// returned function reads the count.
func (p *FaultProxy) CountWrites() (count func() int64) {
	p.tb.Helper()
	w := p.addToxic(`{"name":"count","type":"` + chunkCountType + `","stream":"upstream"}`)
	c := w.Toxic.(*chunkCount)
	return c.n.Load
}

func (p *FaultProxy) addToxic(spec string) *toxics.ToxicWrapper {
	p.tb.Helper()
	w, err := p.proxy.Toxics.AddToxicJson(strings.NewReader(spec))
	if err != nil {
		p.tb.Fatalf("testenv: add toxic %s: %v", spec, err)
	}
	return w
}

// chunkCount passes everything through and counts the chunks: what one
// read from the sending side returned.
type chunkCount struct {
	n atomic.Int64
}

// Pipe implements toxics.Toxic.
func (c *chunkCount) Pipe(stub *toxics.ToxicStub) {
	for {
		select {
		case <-stub.Interrupt:
			return
		case chunk := <-stub.Input:
			if chunk == nil {
				stub.Close()
				return
			}
			c.n.Add(1)
			stub.Output <- chunk
		}
	}
}

// Hang makes the service stop answering without closing anything, as a
// stalled server or a black-holed network does: connections, open and
// new, are accepted and kept, and what the client sends is dropped, until
// Heal.
func (p *FaultProxy) Hang() {
	p.tb.Helper()
	p.addToxic(`{"name":"hang","type":"timeout","stream":"upstream","attributes":{"timeout":0}}`)
}

// Blackhole drops everything in both directions without closing
// anything, as a black-holed network does: unlike Hang, not even what the
// service sends of its own accord (pub/sub messages) arrives, until Heal.
func (p *FaultProxy) Blackhole() {
	p.tb.Helper()
	p.Hang()
	p.addToxic(`{"name":"hang-down","type":"timeout","stream":"downstream","attributes":{"timeout":0}}`)
}
