package captions_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern/captions"
)

// allowedTags matches the only markup Lectern writes in cue text.
var allowedTags = regexp.MustCompile(`</?[ibu]>`)

// FuzzParse checks that Parse never panics, and that whatever it accepts
// is clean: cues in order, within the duration, with text that holds no
// markup but <i>, <b> and <u>, written as WebVTT that reads back as the
// very same cues and writes back as the very same bytes.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint32(0))
		f.Add(b, uint32(10_000))
	}
	f.Add([]byte("WEBVTT\n\nid\n00:01.000 --> 00:02.000 line:0\n<i>a</i> &amp; <b>b\n"), uint32(0))
	f.Add([]byte("1\r\n0:00:01,5 --> 0:00:02,0\r\n{\\an8}<font color=red>x</font>\r\n"), uint32(1500))
	f.Fuzz(func(t *testing.T, data []byte, duration uint32) {
		res, err := captions.Parse(data, captions.Options{DurationMS: int64(duration)})
		if err != nil {
			return
		}
		for i, c := range res.Cues {
			if c.StartMS < 0 || c.EndMS <= c.StartMS || c.Text == "" {
				t.Fatalf("cue %d is not valid: %+v", i, c)
			}
			if duration > 0 && c.EndMS > int64(duration) {
				t.Fatalf("cue %d ends at %d, after the duration %d", i, c.EndMS, duration)
			}
			if i > 0 && c.StartMS < res.Cues[i-1].StartMS {
				t.Fatalf("cue %d starts before cue %d", i, i-1)
			}
			if rest := allowedTags.ReplaceAllString(c.Text, ""); bytes.ContainsAny([]byte(rest), "<>") {
				t.Fatalf("cue %d text has markup: %q", i, c.Text)
			}
		}
		var first bytes.Buffer
		if err := captions.WriteVTT(&first, res.Cues); err != nil {
			t.Fatal(err)
		}
		again, err := captions.Parse(first.Bytes(), captions.Options{})
		if err != nil {
			t.Fatalf("written WebVTT is refused: %v\n%s", err, first.Bytes())
		}
		if diff := cmp.Diff(res.Cues, again.Cues); diff != "" {
			t.Fatalf("written WebVTT reads back differently (-first +again):\n%s\nWebVTT:\n%s", diff, first.Bytes())
		}
		var second bytes.Buffer
		if err := captions.WriteVTT(&second, again.Cues); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first.Bytes(), second.Bytes()) {
			t.Fatalf("WebVTT written twice differs:\n%s\nthen\n%s", first.Bytes(), second.Bytes())
		}
	})
}
