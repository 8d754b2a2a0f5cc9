package server_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
)

// Two short caption files for the 6 s lesson of publishMediaOutput.
const (
	captionsEN = "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nThe <i>first</i> thing\n\n00:00:03.500 --> 00:00:05.500\nand the second\n"
	captionsPT = "1\n00:00:01,000 --> 00:00:03,000\nA primeira coisa\n"
	captionsDE = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nEntwurf\n"
)

// uploadCaptions PUTs a caption file for a lesson as c.
func uploadCaptions(t *testing.T, c *client, lessonID, lang, query, file string) {
	t.Helper()
	r := c.do(t, "PUT", "/api/v1/lessons/"+lessonID+"/captions/"+lang+query, file, "Content-Type", "text/vtt")
	if r.Status != http.StatusCreated && r.Status != http.StatusOK {
		t.Fatalf("upload %s captions: %d %s", lang, r.Status, r.Body)
	}
}

// playbackCaption is one entry of playback's captions.
type playbackCaption struct {
	Lang    string `json:"lang"`
	Label   string `json:"label"`
	Default bool   `json:"default"`
	URL     string `json:"url"`
}

func playbackCaptions(t *testing.T, c *client, lessonID string) (string, []playbackCaption) {
	t.Helper()
	var p struct {
		HLSURL   string            `json:"hls_url"`
		Captions []playbackCaption `json:"captions"`
	}
	c.do(t, "GET", "/api/v1/lessons/"+lessonID+"/playback", nil).want(http.StatusOK).decode(&p)
	base, _ := strings.CutSuffix(p.HLSURL, "master.m3u8")
	return base, p.Captions
}

// subtitleMedia returns the #EXT-X-MEDIA lines of the subtitles group.
func subtitleMedia(master string) []string {
	var lines []string
	for _, l := range strings.Split(master, "\n") {
		if strings.HasPrefix(l, "#EXT-X-MEDIA:TYPE=SUBTITLES") {
			lines = append(lines, l)
		}
	}
	return lines
}

// checkShortCache fails unless a generated media file is private and may
// be reused for a minute at most without asking the server again (no-cache
// means never): links already handed out must see caption changes within a
// minute.
func checkShortCache(t *testing.T, r *response, what string) {
	t.Helper()
	cc := r.Header.Get("Cache-Control")
	if !strings.Contains(cc, "private") || strings.Contains(cc, "immutable") {
		t.Errorf("%s Cache-Control = %q, want private and not immutable", what, cc)
		return
	}
	if strings.Contains(cc, "no-cache") || strings.Contains(cc, "no-store") {
		return
	}
	m := regexp.MustCompile(`max-age=(\d+)`).FindStringSubmatch(cc)
	if m == nil {
		t.Errorf("%s Cache-Control = %q, want no-cache or a max-age of a minute at most", what, cc)
		return
	}
	if age, _ := strconv.Atoi(m[1]); age > 60 {
		t.Errorf("%s may be cached for %d s, more than a minute", what, age)
	}
}

func TestCaptionsInPlayback(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, fx *fixture) {
		m := newMediaClass(t, fx)
		// A link handed out before the lesson had any captions.
		oldBase, none := playbackCaptions(t, m.student, m.lessonID)
		if len(none) != 0 {
			t.Fatalf("captions before any upload = %v", none)
		}
		stored := m.anonymous.do(t, "GET", oldBase+"master.m3u8", nil).want(http.StatusOK)
		if !bytes.Equal(stored.Body, m.files["master.m3u8"]) {
			t.Errorf("master playlist without captions differs from the stored one:\n%s", stored.Body)
		}

		uploadCaptions(t, m.teacher, m.lessonID, "en", "?default=true", captionsEN)
		uploadCaptions(t, m.teacher, m.lessonID, "pt-br", "", captionsPT)
		uploadCaptions(t, m.teacher, m.lessonID, "de", "?status=draft", captionsDE)

		t.Run("PlaybackListsPublishedTracks", func(t *testing.T) {
			for name, c := range map[string]*client{"Student": m.student, "Teacher": m.teacher} {
				base, got := playbackCaptions(t, c, m.lessonID)
				want := []playbackCaption{
					{Lang: "en", Label: "English", Default: true, URL: base + "captions/en.vtt"},
					{Lang: "pt-BR", Label: "Português (Brasil)", URL: base + "captions/pt-BR.vtt"},
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s: playback captions (-want +got):\n%s", name, diff)
				}
			}
		})

		t.Run("MasterPlaylistCarriesTheGroup", func(t *testing.T) {
			// Through the link handed out before the captions existed.
			r := m.anonymous.do(t, "GET", oldBase+"master.m3u8", nil).want(http.StatusOK)
			checkShortCache(t, r, "master playlist")
			master := string(r.Body)
			want := []string{
				`#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,URI="captions/en.m3u8"`,
				`#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="Português (Brasil)",LANGUAGE="pt-BR",DEFAULT=NO,AUTOSELECT=YES,URI="captions/pt-BR.m3u8"`,
			}
			if diff := cmp.Diff(want, subtitleMedia(master)); diff != "" {
				t.Errorf("subtitle renditions (-want +got):\n%s\nmaster:\n%s", diff, master)
			}
			variants := 0
			for _, l := range strings.Split(master, "\n") {
				if strings.HasPrefix(l, "#EXT-X-STREAM-INF:") {
					variants++
					if !strings.HasSuffix(l, `,SUBTITLES="subs"`) {
						t.Errorf("variant without the subtitles group: %s", l)
					}
				}
			}
			if variants == 0 || strings.Index(master, "#EXT-X-MEDIA") > strings.Index(master, "#EXT-X-STREAM-INF") {
				t.Errorf("the subtitles group must come before the variants:\n%s", master)
			}
			// The stored playlist stays as the transcoder wrote it.
			rc, err := fx.Store.Open(context.Background(), lectern.OutputPrefix(m.lessonID, 1)+"master.m3u8", 0, -1)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			if b, _ := io.ReadAll(rc); !bytes.Equal(b, m.files["master.m3u8"]) {
				t.Errorf("the stored master playlist was changed:\n%s", b)
			}
			seg := m.anonymous.do(t, "GET", oldBase+"v0/seg_00000.m4s", nil).want(http.StatusOK)
			if cc := seg.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
				t.Errorf("segment Cache-Control = %q, want immutable", cc)
			}
		})

		t.Run("SubtitlePlaylistCoversTheLesson", func(t *testing.T) {
			r := m.anonymous.do(t, "GET", oldBase+"captions/pt-BR.m3u8", nil).want(http.StatusOK)
			checkShortCache(t, r, "subtitle playlist")
			if ct := r.Header.Get("Content-Type"); ct != "application/vnd.apple.mpegurl" {
				t.Errorf("Content-Type = %q", ct)
			}
			want := "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n" +
				"#EXTINF:6.000,\npt-BR.vtt\n#EXT-X-ENDLIST\n"
			if diff := cmp.Diff(want, string(r.Body)); diff != "" {
				t.Errorf("subtitle playlist (-want +got):\n%s", diff)
			}
		})

		t.Run("WebVTTHasTheTimestampMap", func(t *testing.T) {
			r := m.anonymous.do(t, "GET", oldBase+"captions/en.vtt", nil).want(http.StatusOK)
			checkShortCache(t, r, "WebVTT")
			if ct := r.Header.Get("Content-Type"); ct != "text/vtt; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			want := "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n\n" +
				"00:00:01.000 --> 00:00:03.000\nThe <i>first</i> thing\n\n00:00:03.500 --> 00:00:05.500\nand the second\n"
			if diff := cmp.Diff(want, string(r.Body)); diff != "" {
				t.Errorf("WebVTT (-want +got):\n%s", diff)
			}
		})

		t.Run("DraftsAndStrangersNotServed", func(t *testing.T) {
			for _, p := range []string{"captions/de.vtt", "captions/de.m3u8", "captions/pt-br.vtt", "captions/fr.vtt",
				"captions/en.txt", "captions/en", "captions/", "captions/xx.m3u8"} {
				m.anonymous.do(t, "GET", oldBase+p, nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			}
			if master := string(m.anonymous.do(t, "GET", oldBase+"master.m3u8", nil).Body); strings.Contains(master, `LANGUAGE="de"`) {
				t.Errorf("the draft is in the master playlist:\n%s", master)
			}
			// Another lesson's token reaches that lesson's captions only.
			other := m.newLesson(t, "Week 2")
			publishMediaOutput(t, fx, other, 1)
			otherBase, _ := playbackCaptions(t, m.student, other)
			m.anonymous.do(t, "GET", otherBase+"captions/en.vtt", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)
			if master := string(m.anonymous.do(t, "GET", otherBase+"master.m3u8", nil).Body); len(subtitleMedia(master)) != 0 {
				t.Errorf("a lesson without captions has a subtitles group:\n%s", master)
			}
		})

		t.Run("ChangesReachOldLinks", func(t *testing.T) {
			before := m.anonymous.do(t, "GET", oldBase+"captions/en.vtt", nil).want(http.StatusOK)
			etag := before.Header.Get("ETag")
			m.anonymous.do(t, "GET", oldBase+"captions/en.vtt", nil, "If-None-Match", etag).want(http.StatusNotModified)

			uploadCaptions(t, m.teacher, m.lessonID, "en", "", "WEBVTT\n\n00:00:02.000 --> 00:00:04.000\nCorrected line\n")
			after := m.anonymous.do(t, "GET", oldBase+"captions/en.vtt", nil, "If-None-Match", etag).want(http.StatusOK)
			if !strings.Contains(string(after.Body), "Corrected line") || after.Header.Get("ETag") == etag {
				t.Errorf("after replacing the track the old link serves (ETag %s):\n%s", after.Header.Get("ETag"), after.Body)
			}

			m.teacher.do(t, "PATCH", "/api/v1/lessons/"+m.lessonID+"/captions/pt-BR", map[string]string{"label": "Portuguese"}).want(http.StatusOK)
			m.teacher.do(t, "DELETE", "/api/v1/lessons/"+m.lessonID+"/captions/en", nil).want(http.StatusNoContent)
			master := string(m.anonymous.do(t, "GET", oldBase+"master.m3u8", nil).want(http.StatusOK).Body)
			want := []string{`#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="Portuguese",LANGUAGE="pt-BR",DEFAULT=NO,AUTOSELECT=YES,URI="captions/pt-BR.m3u8"`}
			if diff := cmp.Diff(want, subtitleMedia(master)); diff != "" {
				t.Errorf("after renaming one track and deleting the other (-want +got):\n%s", diff)
			}
			m.anonymous.do(t, "GET", oldBase+"captions/en.vtt", nil).wantError(http.StatusNotFound, lectern.ENOTFOUND)

			m.teacher.do(t, "DELETE", "/api/v1/lessons/"+m.lessonID+"/captions/pt-BR", nil).want(http.StatusNoContent)
			if body := m.anonymous.do(t, "GET", oldBase+"master.m3u8", nil).want(http.StatusOK).Body; !bytes.Equal(body, m.files["master.m3u8"]) {
				t.Errorf("with every track deleted the master playlist is not the stored one:\n%s", body)
			}
		})
	})
}
