package captions

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteVTT writes cues as a WebVTT file: the WEBVTT line, then each cue
// (identifier, time range with settings, text) after a blank line. Cues
// are written as they are; pass normalised cues (Parse, Normalize) to get
// a file that reads back as the same cues.
func WriteVTT(w io.Writer, cues []Cue) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("WEBVTT\n")
	for _, c := range cues {
		bw.WriteString("\n")
		if c.ID != "" {
			bw.WriteString(c.ID + "\n")
		}
		bw.WriteString(Timestamp(c.StartMS) + " --> " + Timestamp(c.EndMS))
		if c.Settings != "" {
			bw.WriteString(" " + c.Settings)
		}
		bw.WriteString("\n" + c.Text + "\n")
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write webvtt: %w", err)
	}
	return nil
}

// Timestamp writes ms as a WebVTT timestamp, hh:mm:ss.ttt (more hour
// digits when needed).
func Timestamp(ms int64) string {
	ms = max(ms, 0)
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3_600_000, ms/60_000%60, ms/1000%60, ms%1000)
}

// Clock writes ms the way people read a position in a video: "4:05", or
// "1:02:03" from an hour on.
func Clock(ms int64) string {
	if ms >= 3_600_000 {
		return clockHours(ms)
	}
	s := max(ms, 0) / 1000
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// clockHours is Clock with the hours written even when zero: "0:04:05".
func clockHours(ms int64) string {
	s := max(ms, 0) / 1000
	return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
}

// WriteTranscript writes cues as a plain-text transcript: one line per
// cue, its start time in brackets and its text without tags, lines of a
// cue joined by a space. Times have hours in every line when the last cue
// starts after an hour, so that the lines align.
func WriteTranscript(w io.Writer, cues []Cue) error {
	long := len(cues) > 0 && cues[len(cues)-1].StartMS >= 3_600_000
	bw := bufio.NewWriter(w)
	for _, c := range cues {
		at := Clock(c.StartMS)
		if long {
			at = clockHours(c.StartMS)
		}
		bw.WriteString("[" + at + "] " + strings.Join(strings.Split(c.Plain(), "\n"), " ") + "\n")
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write transcript: %w", err)
	}
	return nil
}
