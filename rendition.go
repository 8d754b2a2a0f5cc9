package lectern

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
)

// Rendition kinds.
const (
	RenditionVideo = "video"
	RenditionAudio = "audio"
)

// Rendition is one published quality of a lesson: a video rung or the
// audio-only rendition.
type Rendition struct {
	Name             string  `json:"name"`
	Kind             string  `json:"kind"`
	Width            int     `json:"width,omitempty"`
	Height           int     `json:"height,omitempty"`
	FrameRate        float64 `json:"frame_rate,omitempty"`
	Codecs           string  `json:"codecs"`
	Bandwidth        int64   `json:"bandwidth"`
	AverageBandwidth int64   `json:"average_bandwidth"`
}

// Renditions is a lesson's published renditions, stored as one JSON column.
type Renditions []Rendition

// Value implements driver.Valuer: the renditions as JSON text.
func (r Renditions) Value() (driver.Value, error) {
	if r == nil {
		r = Renditions{}
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode renditions: %w", err)
	}
	return string(b), nil
}

// Scan implements sql.Scanner from JSON text or bytes; NULL is empty.
func (r *Renditions) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*r = Renditions{}
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("scan renditions: unsupported type %T", src)
	}
	if len(b) == 0 {
		*r = Renditions{}
		return nil
	}
	var out Renditions
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("scan renditions: %w", err)
	}
	*r = out
	return nil
}
