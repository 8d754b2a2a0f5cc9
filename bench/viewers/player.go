package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxBuffer is how far ahead of the playhead a player loads, as hls.js
// does by default (maxBufferLength 30 s).
const maxBuffer = 30 * time.Second

// startBuffer is how much of both streams a player holds before it starts.
const startBuffer = time.Second

// media is one stream of a lesson as a player loads it: its playlist's
// init segment and segments, with each segment's end in media time.
type media struct {
	init     string
	segments []string
	ends     []time.Duration
}

// viewer is one student watching the lesson the way hls.js does: the
// playback URLs from the API, the master playlist, one video rendition and
// the audio rendition, each stream's init segment, then segments loaded
// ahead of the playhead up to maxBuffer, in parallel for video and audio.
// The playhead advances in real time while both streams have the data,
// and stalls when one does not.
type viewer struct {
	hc       *http.Client
	base     string
	cookie   *http.Cookie
	lessonID string
	rec      *recorder

	mu       sync.Mutex
	cond     *sync.Cond
	started  bool
	playing  bool
	pos      time.Duration // playhead, at lastTick
	lastTick time.Time
	stallAt  time.Time
	bufEnd   [2]time.Duration // video, audio
	duration time.Duration
}

// watch plays the lesson from a random point in its first half until ctx
// ends, starting over (as a new viewing) when it reaches the end.
func (v *viewer) watch(ctx context.Context) {
	v.cond = sync.NewCond(&v.mu)
	for ctx.Err() == nil {
		if err := v.view(ctx); err != nil && ctx.Err() == nil {
			v.rec.fail(err)
			return
		}
	}
}

// view is one viewing, from asking for the playback URLs to the end.
func (v *viewer) view(ctx context.Context) error {
	began := time.Now()
	var pb struct {
		HLSURL string `json:"hls_url"`
	}
	body, err := v.get(ctx, v.base+"/api/v1/lessons/"+v.lessonID+"/playback", kindAPI)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, &pb); err != nil {
		return fmt.Errorf("playback answer: %w", err)
	}
	masterURL, err := url.Parse(v.base + pb.HLSURL)
	if err != nil {
		return err
	}
	master, err := v.get(ctx, masterURL.String(), kindPlaylist)
	if err != nil {
		return err
	}
	variants, audio := parseMaster(master)
	if len(variants) == 0 || audio == "" {
		return fmt.Errorf("master playlist without a video variant and an audio rendition:\n%s", master)
	}
	// Players start where the student left off: anywhere in the first half.
	streams := [2]string{variants[rand.IntN(len(variants))], audio}
	var ms [2]*media
	for i, rel := range streams {
		u := masterURL.ResolveReference(&url.URL{Path: rel})
		pl, err := v.get(ctx, u.String(), kindPlaylist)
		if err != nil {
			return err
		}
		if ms[i], err = parseMedia(u, pl); err != nil {
			return err
		}
	}
	first := rand.IntN(len(ms[0].segments)/2 + 1)
	start := time.Duration(0)
	if first > 0 {
		start = ms[0].ends[first-1]
	}
	v.reset(start, ms[0].ends[len(ms[0].ends)-1])
	errs := make(chan error, 2)
	for i, m := range ms {
		go func() { errs <- v.load(ctx, i, m, start, began) }()
	}
	err1, err2 := <-errs, <-errs
	return errors.Join(err1, err2)
}

// load fetches one stream's init segment and then its segments from
// start, each as soon as the stream's buffer holds less than maxBuffer
// ahead of the playhead.
func (v *viewer) load(ctx context.Context, stream int, m *media, start time.Duration, began time.Time) error {
	if _, err := v.get(ctx, m.init, kindSegment); err != nil {
		return err
	}
	for i, seg := range m.segments {
		if m.ends[i] <= start {
			continue
		}
		if !v.waitForRoom(ctx, stream) {
			return nil
		}
		if _, err := v.get(ctx, seg, kindSegment); err != nil {
			return err
		}
		v.buffered(stream, m.ends[i], began)
	}
	v.waitForEnd(ctx)
	return nil
}

func (v *viewer) reset(start, duration time.Duration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.started, v.playing = false, false
	v.pos, v.duration = start, duration
	v.bufEnd = [2]time.Duration{start, start}
}

// tick moves the playhead to now; v.mu is held. When the playhead
// reaches the end of what both streams hold, playback stops there: a
// stall, unless it is the end of the lesson (buffered tells them apart).
func (v *viewer) tick(now time.Time) {
	if v.playing {
		end := min(v.bufEnd[0], v.bufEnd[1])
		next := v.pos + now.Sub(v.lastTick)
		if next >= end {
			v.stallAt = v.lastTick.Add(end - v.pos)
			next, v.playing = end, false
		}
		v.pos = next
	}
	v.lastTick = now
}

// buffered records that a stream holds data up to end.
func (v *viewer) buffered(stream int, end time.Duration, began time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := time.Now()
	v.tick(now)
	v.bufEnd[stream] = end
	ahead := min(v.bufEnd[0], v.bufEnd[1]) - v.pos
	// Playback starts with startBuffer in both streams (an audio segment's
	// end can fall a few milliseconds past the video's start), and
	// resumes after a stall as soon as there is data.
	ready := ahead >= min(startBuffer, v.duration-v.pos) || (v.started && ahead > 0)
	if ready && !v.playing && v.pos < v.duration {
		if v.started {
			v.rec.stall(now.Sub(v.stallAt))
		} else {
			v.started = true
			v.rec.startup(now.Sub(began))
		}
		v.playing = true
	}
	v.cond.Broadcast()
}

// waitForRoom blocks until the stream's buffer is less than maxBuffer
// ahead of the playhead; false when ctx ended.
func (v *viewer) waitForRoom(ctx context.Context, stream int) bool {
	for ctx.Err() == nil {
		v.mu.Lock()
		v.tick(time.Now())
		ahead := v.bufEnd[stream] - v.pos
		v.mu.Unlock()
		if ahead < maxBuffer {
			return true
		}
		sleep(ctx, ahead-maxBuffer+50*time.Millisecond)
	}
	return false
}

// waitForEnd blocks until the playhead reaches the end of the lesson.
func (v *viewer) waitForEnd(ctx context.Context) {
	for ctx.Err() == nil {
		v.mu.Lock()
		v.tick(time.Now())
		left := v.duration - v.pos
		v.mu.Unlock()
		if left <= 0 {
			return
		}
		sleep(ctx, left+10*time.Millisecond)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// get fetches u with the viewer's cookie (browsers send it with the
// player's same-origin requests), records how long the whole answer took,
// and returns the body of playlists and API answers (segments are read
// and dropped).
func (v *viewer) get(ctx context.Context, u string, kind requestKind) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return nil, err
	}
	req.AddCookie(v.cookie)
	began := time.Now()
	resp, err := v.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body []byte
	if kind == kindSegment {
		_, err = io.Copy(io.Discard, resp.Body)
	} else {
		body, err = io.ReadAll(resp.Body)
	}
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s %.200s", u, resp.Status, body)
	}
	v.rec.request(kind, time.Since(began))
	return body, nil
}

// parseMaster returns the master playlist's variant URIs and its audio
// rendition's URI.
func parseMaster(b []byte) (variants []string, audio string) {
	lines := strings.Split(string(b), "\n")
	for i, line := range lines {
		switch {
		case strings.HasPrefix(line, "#EXT-X-MEDIA:") && strings.Contains(line, "TYPE=AUDIO"):
			audio = attr(line, "URI")
		case strings.HasPrefix(line, "#EXT-X-STREAM-INF:") && i+1 < len(lines):
			if !strings.Contains(line, "RESOLUTION=") {
				continue // the audio-only variant, which hls.js skips while video plays
			}
			variants = append(variants, strings.TrimSpace(lines[i+1]))
		}
	}
	return variants, audio
}

// attr is a quoted attribute of a playlist tag.
func attr(line, name string) string {
	_, rest, ok := strings.Cut(line, name+`="`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

// parseMedia reads a media playlist at u: its init segment and segments
// as absolute URLs, and each segment's end time.
func parseMedia(u *url.URL, b []byte) (*media, error) {
	m := &media{}
	var end time.Duration
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "#EXT-X-MAP:"):
			m.init = u.ResolveReference(&url.URL{Path: attr(line, "URI")}).String()
		case strings.HasPrefix(line, "#EXTINF:"):
			secs, _, _ := strings.Cut(strings.TrimPrefix(line, "#EXTINF:"), ",")
			f, err := strconv.ParseFloat(secs, 64)
			if err != nil {
				return nil, fmt.Errorf("media playlist %s: %q", u, line)
			}
			end += time.Duration(f * float64(time.Second))
			m.ends = append(m.ends, end)
		case line != "" && !strings.HasPrefix(line, "#"):
			m.segments = append(m.segments, u.ResolveReference(&url.URL{Path: line}).String())
		}
	}
	if m.init == "" || len(m.segments) == 0 || len(m.segments) != len(m.ends) {
		return nil, fmt.Errorf("media playlist %s: no init segment or segments:\n%s", u, b)
	}
	return m, nil
}
