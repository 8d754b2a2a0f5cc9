package server

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/lectern/lectern"
)

// optTime is a time field of a request that may be absent (unchanged),
// null (cleared) or a string: "now", an RFC 3339 time with its offset, or
// a local time ("2026-01-12T17:00") in the course's time zone.
type optTime struct {
	set  bool
	null bool
	text string
}

// UnmarshalJSON records that the field was sent, and what it holds.
func (o *optTime) UnmarshalJSON(b []byte) error {
	o.set = true
	if bytes.Equal(b, []byte("null")) {
		o.null = true
		return nil
	}
	return json.Unmarshal(b, &o.text)
}

// localLayouts are the forms of a local time, as a datetime-local input
// sends it.
var localLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04"}

// resolve returns the time o names (nil for null), reading a local time
// in zone; field names it in the error.
func (o optTime) resolve(field string, now time.Time, zone string) (*time.Time, error) {
	if o.null {
		return nil, nil
	}
	text := strings.TrimSpace(o.text)
	if text == "now" {
		return &now, nil
	}
	if t, err := time.Parse(time.RFC3339, text); err == nil {
		return &t, nil
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc = time.UTC
	}
	for _, layout := range localLayouts {
		if t, err := time.ParseInLocation(layout, text, loc); err == nil {
			return &t, nil
		}
	}
	return nil, lectern.Errorf(lectern.EINVALID,
		"%s must be \"now\", a time with its offset (2026-01-12T17:00:00+01:00), a local time in the course's time zone (2026-01-12T17:00), or null", field)
}

// publicationRequest is the publication part of a lesson create or
// update: publish_at null makes the lesson a draft, "now" publishes it,
// a time schedules it; watch_by sets (or, null, clears) its watch-by date.
type publicationRequest struct {
	PublishAt optTime `json:"publish_at"`
	WatchBy   optTime `json:"watch_by"`
}

// apply changes p by what r sends; absent fields leave p as it was.
func (r publicationRequest) apply(p *lectern.Publication, now time.Time, zone string) error {
	if r.PublishAt.set {
		t, err := r.PublishAt.resolve("publish_at", now, zone)
		if err != nil {
			return err
		}
		p.PublishedAt = t
	}
	if r.WatchBy.set {
		if r.WatchBy.text == "now" {
			return lectern.Errorf(lectern.EINVALID, "watch_by must be a date and time, not \"now\"")
		}
		t, err := r.WatchBy.resolve("watch_by", now, zone)
		if err != nil {
			return err
		}
		p.WatchBy = t
	}
	return nil
}

// changes reports whether r sends anything.
func (r publicationRequest) changes() bool { return r.PublishAt.set || r.WatchBy.set }

// publicationJSON is what a lesson's teachers see of its publication.
type publicationJSON struct {
	// State is draft, scheduled or published.
	State lectern.PublicationState `json:"state"`
	// PublishAt is when students see it; null for a draft.
	PublishAt *time.Time `json:"publish_at"`
	// TimeZone is the course's time zone, in which teachers give times.
	TimeZone string `json:"time_zone"`
}

// withPublication shows l's publication in resp: the watch-by date to
// everyone, its state and time to the course's teachers (teaching).
// Students never see when a lesson is scheduled.
func (s *Server) withPublication(resp *lessonJSON, l *lectern.Lesson, teaching bool, zone string) {
	resp.WatchBy = l.WatchBy
	if teaching {
		resp.Publication = &publicationJSON{State: l.PublicationState(s.clock.Now()), PublishAt: l.PublishedAt, TimeZone: zone}
	}
}
