package captions_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/captions"
)

var update = flag.Bool("update", false, "rewrite the golden WebVTT files under testdata/golden")

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeVTT(t *testing.T, cues []captions.Cue) string {
	t.Helper()
	var b bytes.Buffer
	if err := captions.WriteVTT(&b, cues); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestParseFixtures reads real-world-like files and checks the cues a
// player would show, the warnings a teacher would read, and (against a
// golden file) the WebVTT Lectern stores.
func TestParseFixtures(t *testing.T) {
	for _, tc := range []struct {
		file       string
		durationMS int64
		format     captions.Format
		encoding   string
		cues       []captions.Cue // nil: checked by the golden file only
		warnings   []string
	}{
		{
			file: "bom_crlf.srt", format: captions.SubRip, encoding: "UTF-8",
			cues: []captions.Cue{
				{StartMS: 1000, EndMS: 4000, Text: "Welcome to the course."},
				{StartMS: 4500, EndMS: 7250, Text: "Today: signals\nand systems."},
			},
			warnings: []string{},
		},
		{
			file: "windows1252.srt", format: captions.SubRip, encoding: "Windows-1252",
			cues: []captions.Cue{
				{StartMS: 1000, EndMS: 3000, Text: "Café au lait — “naïve” question’s answer"},
				{StartMS: 3500, EndMS: 5000, Text: "It costs 5 €."},
			},
			warnings: []string{"The file is not UTF-8, so it was read as Windows-1252 (Western European). If letters look wrong, save the file as UTF-8 and upload it again."},
		},
		{
			file: "utf16le.srt", format: captions.SubRip, encoding: "UTF-16LE",
			cues: []captions.Cue{
				{StartMS: 500, EndMS: 2000, Text: "¿Dónde está la biblioteca?"},
				{StartMS: 2500, EndMS: 4000, Text: "日本語も大丈夫"},
			},
			warnings: []string{},
		},
		{
			file: "tags.srt", format: captions.SubRip, encoding: "UTF-8",
			cues: []captions.Cue{
				{StartMS: 1000, EndMS: 3000, Text: "<i>Italic</i> and <b>bold</b> and <u>underlined</u>"},
				{StartMS: 3000, EndMS: 5000, Text: "Yellow text stays"},
				{StartMS: 5000, EndMS: 7000, Text: "At the top: Tom &amp; Jerry &lt;3"},
				{StartMS: 7000, EndMS: 9000, Text: "<i>Shouting</i> <i><b>nested wrongly</b></i>"},
				{StartMS: 9000, EndMS: 11000, Text: `alert("x")if a<b>d</b>`},
				{StartMS: 11000, EndMS: 13000, Text: "<i>unclosed italic</i>\n<i>over two lines</i>"},
				{StartMS: 13000, EndMS: 15000, Text: "first\nsecond &amp; third &lt;tag&gt;"},
			},
			warnings: []string{"Formatting other than italic, bold and underline (such as colours, fonts, voices or positions) was removed from 3 cues."},
		},
		{
			file: "messy.srt", format: captions.SubRip, encoding: "UTF-8",
			cues: []captions.Cue{
				{StartMS: 1000, EndMS: 4000, Text: "No number, first by time."},
				{StartMS: 5000, EndMS: 7000, Text: "Third by number, second by time."},
				{StartMS: 6000, EndMS: 11000, Text: "Overlaps the cue before it.\nthis line followed a stray blank line"},
				{StartMS: 10000, EndMS: 12000, Text: "Missing blank line before this one."},
				{StartMS: 30000, EndMS: 33000, Text: "Coordinates are ignored."},
			},
			warnings: []string{
				"1 cue that ends before or when it starts was removed.",
				"1 line without a time range was added to the cue before it.",
				"1 empty cue was removed.",
				"1 repeated cue was removed.",
				"The cues were not in time order; they were sorted by start time.",
				"2 cues overlap the cue before them; they are kept, and players show overlapping cues together.",
			},
		},
		{
			file: "styled.vtt", format: captions.WebVTT, encoding: "UTF-8",
			cues: []captions.Cue{
				{ID: "intro", StartMS: 0, EndMS: 2500, Settings: "line:10% align:center", Text: "Hi, I'm Roger."},
				{StartMS: 2500, EndMS: 5000, Settings: "vertical:lr position:50%,center size:80%",
					Text: "Tom &amp; Jerry\u00a0say &lt;hello&gt; — karaoke"},
				{StartMS: 5000, EndMS: 6000, Settings: "align:start", Text: "Bonjour 漢kan"},
				{StartMS: 6000, EndMS: 7000, Text: "Same identifier as the first cue."},
			},
			warnings: []string{
				"Formatting other than italic, bold and underline (such as colours, fonts, voices or positions) was removed from 2 cues.",
				"The file's styles (STYLE blocks) were removed: the player styles captions itself.",
				"The file's regions were removed: cues placed in a region are shown in the usual place.",
			},
		},
		{
			file: "lone_cr.vtt", format: captions.WebVTT, encoding: "UTF-8",
			cues: []captions.Cue{
				{StartMS: 0, EndMS: 1000, Text: "Old Mac line ends."},
				{StartMS: 1000, EndMS: 2000, Text: "Still fine."},
			},
			warnings: []string{},
		},
		{
			file: "past_end.vtt", durationMS: 10_000, format: captions.WebVTT, encoding: "UTF-8",
			cues: []captions.Cue{
				{StartMS: 0, EndMS: 5000, Text: "Inside."},
				{StartMS: 8000, EndMS: 10000, Text: "Runs past the end."},
			},
			warnings: []string{
				"2 cues that start after the end of the video (0:10) were removed.",
				"1 cue that ran past the end of the video was shortened to end with it.",
			},
		},
		{
			file: "past_end.vtt", format: captions.WebVTT, encoding: "UTF-8",
			cues: []captions.Cue{
				{StartMS: 0, EndMS: 5000, Text: "Inside."},
				{StartMS: 8000, EndMS: 12000, Text: "Runs past the end."},
				{StartMS: 10000, EndMS: 13000, Text: "Starts at the end."},
				{StartMS: 11000, EndMS: 14000, Text: "Starts after the end."},
			},
			warnings: []string{"2 cues overlap the cue before them; they are kept, and players show overlapping cues together."},
		},
	} {
		name := strings.TrimSuffix(tc.file, filepath.Ext(tc.file))
		if tc.durationMS > 0 {
			name += "_clamped"
		}
		t.Run(name, func(t *testing.T) {
			res, err := captions.Parse(readFixture(t, tc.file), captions.Options{DurationMS: tc.durationMS})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if res.Format != tc.format || res.Encoding != tc.encoding {
				t.Errorf("read as %s in %s, want %s in %s", res.Format, res.Encoding, tc.format, tc.encoding)
			}
			if diff := cmp.Diff(tc.cues, res.Cues); diff != "" {
				t.Errorf("cues (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.warnings, res.Warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			got := writeVTT(t, res.Cues)
			golden := filepath.Join("testdata", "golden", name+".vtt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./captions -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("WebVTT differs from %s (-want +got):\n%s", golden, diff)
			}
			again, err := captions.Parse([]byte(got), captions.Options{})
			if err != nil {
				t.Fatalf("the written WebVTT does not parse: %v", err)
			}
			if diff := cmp.Diff(res.Cues, again.Cues); diff != "" {
				t.Errorf("written WebVTT reads back differently (-first +again):\n%s", diff)
			}
			for _, w := range again.Warnings {
				if !strings.Contains(w, "overlap") {
					t.Errorf("Lectern's own WebVTT gives a warning: %q", w)
				}
			}
		})
	}
}

// TestParseRefuses checks that what is not a caption file is refused with
// an EINVALID error that tells the teacher where and what.
func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, file, data string
		want             string
	}{
		{name: "Readme", file: "readme.txt",
			want: `line 1: expected a time range like 00:00:01,000 --> 00:00:04,000, got "# Lecture notes"`},
		{name: "OneDashArrow", file: "bad_time.srt",
			want: `line 6: expected a time range like 00:00:01,000 --> 00:00:04,000, got "00:00:03,000 -> 00:00:04,000"`},
		{name: "NumberWithoutRange", file: "missing_range.srt",
			want: `line 6: expected a time range like 00:00:01,000 --> 00:00:04,000, got "Where is my time range?"`},
		{name: "MinutesOutOfRange", file: "bad_minutes.vtt",
			want: `line 6: expected a time range like 00:00:01.000 --> 00:00:04.000, got "00:75:01.000 --> 00:75:02.000"`},
		{name: "HeaderOnly", file: "header_only.vtt",
			want: "the file has no cues: expected a time range like 00:00:01.000 --> 00:00:04.000 followed by the text"},
		{name: "Binary", file: "binary.png",
			want: "this is not a text file: upload a WebVTT (.vtt) or SubRip (.srt) caption file"},
		{name: "Empty", data: " \r\n\n", want: "the file is empty"},
		{name: "WebVTTJunkBlock", data: "WEBVTT\n\nthis is not\na cue\n",
			want: `line 3: expected a time range like 00:00:01.000 --> 00:00:04.000, got "this is not"`},
		{name: "HTML", data: "<!doctype html>\n<html><body>captions</body></html>\n",
			want: `line 1: expected a time range like 00:00:01,000 --> 00:00:04,000, got "<!doctype html>"`},
		{name: "LongLineShortened", data: "1\n" + strings.Repeat("x", 100) + " --> y\n",
			want: `line 2: expected a time range like 00:00:01,000 --> 00:00:04,000, got "` + strings.Repeat("x", 60) + `…"`},
		{name: "OnlyEmptyCues", data: "WEBVTT\n\n00:01.000 --> 00:02.000\n<i> </i>\n",
			want: "the file has no cue with text and a valid time range"},
		{name: "FractionTooLong", data: "00:00:01.0000000000 --> 00:00:02.000\nx\n",
			want: `line 1: expected a time range like 00:00:01,000 --> 00:00:04,000, got "00:00:01.0000000000 --> 00:00:02.000"`},
		{name: "WebVTTOneDashArrow", data: "WEBVTT\n\n00:01.000 --> 00:02.000\nfine\n\n00:03.000 -> 00:04.000\nbroken\n",
			want: `line 6: expected a time range like 00:00:01.000 --> 00:00:04.000, got "00:03.000 -> 00:04.000"`},
		{name: "WebVTTFirstCueBroken", data: "WEBVTT\n\nintro\n00:01.000 - 00:02.000\nfirst\n\n00:03.000 --> 00:04.000\nsecond\n",
			want: `line 4: expected a time range like 00:00:01.000 --> 00:00:04.000, got "00:01.000 - 00:02.000"`},
		{name: "MissingEnd", data: "WEBVTT\n\n00:00:01.000 -->\nx\n",
			want: `line 3: expected a time range like 00:00:01.000 --> 00:00:04.000, got "00:00:01.000 -->"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.data)
			if tc.file != "" {
				data = readFixture(t, tc.file)
			}
			res, err := captions.Parse(data, captions.Options{})
			if err == nil {
				t.Fatalf("Parse accepted it: %d cues", len(res.Cues))
			}
			if code := lectern.ErrorCode(err); code != lectern.EINVALID {
				t.Errorf("error code %q, want %q", code, lectern.EINVALID)
			}
			if got := lectern.ErrorMessage(err); got != tc.want {
				t.Errorf("message\n got %s\nwant %s", got, tc.want)
			}
		})
	}
	t.Run("TextThatStartsWithATimeIsText", func(t *testing.T) {
		res, err := captions.Parse([]byte("1\n00:00:01,000 --> 00:00:02,000\nWe meet\n\n10:30 is the time\n"), captions.Options{})
		if err != nil || len(res.Cues) != 1 || res.Cues[0].Text != "We meet\n10:30 is the time" {
			t.Errorf("Parse = %+v, %v", res, err)
		}
	})
	t.Run("AllPastTheEnd", func(t *testing.T) {
		_, err := captions.Parse([]byte("WEBVTT\n\n01:00:00.000 --> 01:00:02.000\nlate\n"), captions.Options{DurationMS: 60_000})
		if got := lectern.ErrorMessage(err); got != "every cue starts after the end of the video: check that the file belongs to this lesson" {
			t.Errorf("message %q", got)
		}
	})
}

func TestTimestamps(t *testing.T) {
	for in, want := range map[string]int64{
		"00:00:01,000":    1000,
		"00:00:01.000":    1000,
		"0:00:01,5":       1500,
		"1:02:03.04":      3_723_040,
		"01:02.003":       62_003,
		"123:00:00.000":   442_800_000,
		"00:00:01:250":    1250,
		"00:00:07":        7000,
		"00:00:01.999999": 1999,
	} {
		res, err := captions.Parse([]byte(in+" --> 999:00:00.000\nx\n"), captions.Options{})
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got := res.Cues[0].StartMS; got != want {
			t.Errorf("%s read as %d ms, want %d", in, got, want)
		}
	}
	for _, bad := range []string{"00:60:00.000", "00:00:60.000", "1.000", "00:00:01.", "aa:00:01.000", "00:00:01.-1", "-1:00:00.000", "00:1:2:3:4"} {
		if _, err := captions.Parse([]byte(bad+" --> 999:00:00.000\nx\n"), captions.Options{}); err == nil {
			t.Errorf("%s accepted as a timestamp", bad)
		}
	}
	for ms, want := range map[int64]string{0: "00:00:00.000", 61_001: "00:01:01.001", 36_000_000: "10:00:00.000", 360_000_000: "100:00:00.000"} {
		if got := captions.Timestamp(ms); got != want {
			t.Errorf("Timestamp(%d) = %s, want %s", ms, got, want)
		}
	}
}

func TestCueText(t *testing.T) {
	for _, tc := range []struct{ in, vtt, plain string }{
		{"a < b & c > d", "a &lt; b &amp; c &gt; d", "a < b & c > d"},
		{"<i>x</i>", "<i>x</i>", "x"},
		{"&amp;amp;", "&amp;amp;", "&amp;"},
		{"<i><b>bold italic</b></i> <b>bold</b>", "<i><b>bold italic</b></i> <b>bold</b>", "bold italic bold"},
		{"<b><i>x</i></b>", "<i><b>x</b></i>", "x"},
		{"<i></i><b> </b>", "", ""},
		{"  \tone  \n\n  two\t ", "one\ntwo", "one\ntwo"},
		{"<img src=x onerror=alert(1)>hi", "hi", "hi"},
		{"<i.yellow.bg_blue>class</i>", "<i>class</i>", "class"},
		{"{\\an8}{\\i1}top", "top", "top"},
		{"{{\\a}\\b}x", "x", "x"},
		{"AT&T; 3 &lt 4 &#x3C;", "AT&amp;T; 3 &lt; 4 &lt;", "AT&T; 3 < 4 <"},
		{"null\x00 bell\x07 tab\tend\u200b", "null bell tab end\u200b", "null bell tab end\u200b"},
	} {
		got := captions.CueText(tc.in)
		if got != tc.vtt {
			t.Errorf("CueText(%q) = %q, want %q", tc.in, got, tc.vtt)
		}
		if p := (captions.Cue{Text: got}).Plain(); p != tc.plain {
			t.Errorf("Plain of %q = %q, want %q", got, p, tc.plain)
		}
		if again := captions.CueText(got); again != got {
			t.Errorf("CueText not stable: %q then %q", got, again)
		}
	}
	for in, want := range map[string]string{
		"Tom & Jerry":      "Tom &amp; Jerry",
		"<i>not a tag</i>": "&lt;i&gt;not a tag&lt;/i&gt;",
		"x --> y":          "x --&gt; y",
		" a \n\n b ":       "a\nb",
		"&amp;":            "&amp;amp;",
	} {
		if got := captions.PlainCueText(in); got != want {
			t.Errorf("PlainCueText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalize(t *testing.T) {
	res, err := captions.Normalize([]captions.Cue{
		{StartMS: 4000, EndMS: 6000, Text: captions.PlainCueText("second")},
		{ID: "7", StartMS: 1000, EndMS: 3000, Settings: "align:left line:-2 region:r size:120%", Text: "<font>first</font>"},
		{StartMS: 7000, EndMS: 8000, Text: captions.PlainCueText("   ")},
		{StartMS: 9000, EndMS: 12000, Text: "last"},
	}, captions.Options{DurationMS: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	want := []captions.Cue{
		{StartMS: 1000, EndMS: 3000, Settings: "line:-2 align:left", Text: "first"},
		{StartMS: 4000, EndMS: 6000, Text: "second"},
		{StartMS: 9000, EndMS: 10000, Text: "last"},
	}
	if diff := cmp.Diff(want, res.Cues); diff != "" {
		t.Errorf("cues (-want +got):\n%s", diff)
	}
	wantWarnings := []string{
		"1 cue that ran past the end of the video was shortened to end with it.",
		"1 empty cue was removed.",
		"The cues were not in time order; they were sorted by start time.",
		"Formatting other than italic, bold and underline (such as colours, fonts, voices or positions) was removed from 1 cue.",
		"The file's regions were removed: cues placed in a region are shown in the usual place.",
	}
	if diff := cmp.Diff(wantWarnings, res.Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

func TestWriteTranscript(t *testing.T) {
	cues := []captions.Cue{
		{StartMS: 1500, EndMS: 3000, Text: "<i>Hello</i> &amp;\nwelcome"},
		{StartMS: 65_000, EndMS: 66_000, Text: "a &lt;b&gt;"},
	}
	var b bytes.Buffer
	if err := captions.WriteTranscript(&b, cues); err != nil {
		t.Fatal(err)
	}
	if want := "[0:01] Hello & welcome\n[1:05] a <b>\n"; b.String() != want {
		t.Errorf("transcript\n%s\nwant\n%s", b.String(), want)
	}
	cues = append(cues, captions.Cue{StartMS: 3_661_000, EndMS: 3_662_000, Text: "late"})
	b.Reset()
	if err := captions.WriteTranscript(&b, cues); err != nil {
		t.Fatal(err)
	}
	if want := "[0:00:01] Hello & welcome\n[0:01:05] a <b>\n[1:01:01] late\n"; b.String() != want {
		t.Errorf("long transcript\n%s\nwant\n%s", b.String(), want)
	}
}
