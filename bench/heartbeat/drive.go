package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// result is what the students saw while measuring.
type result struct {
	latencies []time.Duration // of acknowledged beats
	errors    int
	firstErr  string
}

// drive runs one goroutine per student: send a beat, wait for its answer,
// think, repeat. Beats started during the warm-up are not counted.
// With cfg.baseline the students GET /api/v1/me instead.
func drive(ctx context.Context, base string, c *class, cfg config) (*result, error) {
	tr := &http.Transport{MaxIdleConns: cfg.students, MaxIdleConnsPerHost: cfg.students}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: time.Minute}
	url := base + "/api/v1/lessons/" + c.lessonID + "/progress"
	if cfg.baseline {
		url = base + "/api/v1/me"
	}

	start := time.Now()
	measureFrom, end := start.Add(cfg.warmup), start.Add(cfg.warmup+cfg.duration)
	ctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	results := make([]result, len(c.cookies))
	var wg sync.WaitGroup
	for i, cookie := range c.cookies {
		wg.Go(func() { student(ctx, hc, url, cookie, i, measureFrom, cfg.think, &results[i]) })
	}
	wg.Wait()
	var all result
	for _, r := range results {
		all.latencies = append(all.latencies, r.latencies...)
		all.errors += r.errors
		if all.firstErr == "" {
			all.firstErr = r.firstErr
		}
	}
	if len(all.latencies) == 0 {
		return nil, fmt.Errorf("no beat was acknowledged (first error: %s)", all.firstErr)
	}
	return &all, nil
}

// student watches the lesson from a point of their own, one more second
// per beat, as the player reports it.
func student(ctx context.Context, hc *http.Client, url, cookie string, n int, measureFrom time.Time, think time.Duration, r *result) {
	session := fmt.Sprint("bench-session-", n)
	posMS := int64(n%3000) * 1000
	for seq := int64(1); ctx.Err() == nil; seq++ {
		body := fmt.Sprintf(`{"session_id":%q,"seq":%d,"position_ms":%d,"ranges":[[%d,%d]]}`,
			session, seq, posMS+1000, posMS, posMS+1000)
		began := time.Now()
		err := beat(ctx, hc, url, cookie, body)
		took := time.Since(began)
		switch {
		case ctx.Err() != nil:
			return // cut off by the end of the run: neither success nor failure
		case err != nil:
			if !began.Before(measureFrom) {
				r.errors++
			}
			if r.firstErr == "" {
				r.firstErr = err.Error()
			}
		case !began.Before(measureFrom):
			r.latencies = append(r.latencies, took)
		}
		posMS = (posMS + 1000) % (3599 * 1000)
		if think > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(think):
			}
		}
	}
}

// beat PUTs body to url, or GETs url when it is not a progress URL (the
// baseline).
func beat(ctx context.Context, hc *http.Client, url, cookie, body string) error {
	method, r := http.MethodPut, io.Reader(strings.NewReader(body))
	if !strings.HasSuffix(url, "/progress") {
		method, r = http.MethodGet, nil
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Cookie", cookie)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, answer)
	}
	return nil
}

// print reports throughput and latency percentiles.
func (r *result) print(w io.Writer, measured time.Duration) {
	slices.Sort(r.latencies)
	pct := func(p float64) time.Duration {
		return r.latencies[min(len(r.latencies)-1, int(p*float64(len(r.latencies))))]
	}
	fmt.Fprintf(w, "acknowledged %d beats: %.0f beats/s; errors %d\n",
		len(r.latencies), float64(len(r.latencies))/measured.Seconds(), r.errors)
	fmt.Fprintf(w, "latency p50 %v  p90 %v  p99 %v  max %v\n",
		pct(0.50).Round(10*time.Microsecond), pct(0.90).Round(10*time.Microsecond),
		pct(0.99).Round(10*time.Microsecond), r.latencies[len(r.latencies)-1].Round(10*time.Microsecond))
	if r.firstErr != "" {
		fmt.Fprintln(w, "first error:", r.firstErr)
	}
}
