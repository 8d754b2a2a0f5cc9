// Package faultproxy puts a real TCP proxy between Lectern and a service
// it depends on, for tests of what happens when that service is slow,
// resets connections or is down: toxiproxy, run in the test's own
// process.
package faultproxy

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Proxy forwards connections from Addr to an upstream address, with the
// faults a test turns on.
type Proxy struct {
	tb testing.TB
	p  *toxiproxy.Proxy
	// Addr is host:port where the proxy listens.
	Addr string
}

// New starts a proxy to upstream on a free loopback port; it is stopped
// when the test ends.
func New(tb testing.TB, upstream string) *Proxy {
	tb.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, "upstream", "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		tb.Fatalf("faultproxy: start: %v", err)
	}
	tb.Cleanup(p.Stop)
	return &Proxy{tb: tb, p: p, Addr: p.Listen}
}

// add turns on a toxic described in toxiproxy's JSON form.
func (p *Proxy) add(name, typ, stream string, attrs string) {
	p.tb.Helper()
	js := fmt.Sprintf(`{"name":%q,"type":%q,"stream":%q,"toxicity":1,"attributes":%s}`, name, typ, stream, attrs)
	if _, err := p.p.Toxics.AddToxicJson(strings.NewReader(js)); err != nil {
		p.tb.Fatalf("faultproxy: add %s: %v", name, err)
	}
}

// Latency delays every piece of data from upstream by ms milliseconds.
func (p *Proxy) Latency(ms int) {
	p.tb.Helper()
	p.add("latency", "latency", "downstream", fmt.Sprintf(`{"latency":%d}`, ms))
}

// ResetPeer resets every connection, new or open, as soon as data flows
// (TCP RST).
func (p *Proxy) ResetPeer() {
	p.tb.Helper()
	p.add("reset", "reset_peer", "upstream", `{"timeout":0}`)
}

// Heal removes every fault, keeping the proxy up.
func (p *Proxy) Heal() {
	p.p.Toxics.ResetToxics(context.Background())
}

// Down closes the proxy's listener and every connection through it: the
// service looks down (connections refused).
func (p *Proxy) Down() { p.p.Stop() }

// Up listens again, on the same address.
func (p *Proxy) Up() {
	p.tb.Helper()
	if err := p.p.Start(); err != nil {
		p.tb.Fatalf("faultproxy: restart on %s: %v", p.Addr, err)
	}
}
