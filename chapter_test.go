package lectern_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
)

func TestImportedChapters(t *testing.T) {
	long := strings.Repeat("é", lectern.MaxChapterTitleLen+50)
	for _, tc := range []struct {
		name     string
		in       []lectern.Chapter
		duration int64
		want     []lectern.Chapter
	}{
		{"None", nil, 60000, []lectern.Chapter{}},
		{"Clean", []lectern.Chapter{{StartMS: 30000, Title: "Proof"}, {StartMS: 0, Title: "Intro"}}, 60000,
			[]lectern.Chapter{{StartMS: 0, Title: "Intro"}, {StartMS: 30000, Title: "Proof"}}},
		{"TitlesCleaned", []lectern.Chapter{
			{StartMS: 0, Title: "  Line one\r\nline\ttwo  "},
			{StartMS: 1000, Title: "\u202Egnp.exe\u202C evil"},
			{StartMS: 2000, Title: "bad \xff byte"},
			{StartMS: 3000, Title: " \x00\x07 "},
		}, 60000, []lectern.Chapter{
			{StartMS: 0, Title: "Line one line two"},
			{StartMS: 1000, Title: "gnp.exe evil"},
			{StartMS: 2000, Title: "bad byte"},
			{StartMS: 3000, Title: "Chapter 4"},
		}},
		{"ClampedToDuration", []lectern.Chapter{
			{StartMS: -500, Title: "Before"}, {StartMS: 59999, Title: "Last moment"},
			{StartMS: 60000, Title: "At the end"}, {StartMS: 3600000, Title: "Far past"},
		}, 60000, []lectern.Chapter{{StartMS: 0, Title: "Before"}, {StartMS: 59999, Title: "Last moment"}}},
		{"SameMomentKeepsFirst", []lectern.Chapter{{StartMS: 0, Title: "A"}, {StartMS: 5000, Title: "B"}, {StartMS: 5000, Title: "C"}}, 60000,
			[]lectern.Chapter{{StartMS: 0, Title: "A"}, {StartMS: 5000, Title: "B"}}},
		{"LongTitleCut", []lectern.Chapter{{StartMS: 0, Title: long}}, 60000,
			[]lectern.Chapter{{StartMS: 0, Title: strings.Repeat("é", lectern.MaxChapterTitleLen-1) + "…"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := lectern.ImportedChapters(tc.in, tc.duration)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ImportedChapters (-want +got):\n%s", diff)
			}
			if _, err := lectern.NormalizeChapters(got, tc.duration); err != nil {
				t.Errorf("NormalizeChapters refuses what ImportedChapters made: %v", err)
			}
		})
	}
	t.Run("AtMostMaxChapters", func(t *testing.T) {
		in := make([]lectern.Chapter, lectern.MaxChapters+100)
		for i := range in {
			in[i] = lectern.Chapter{StartMS: int64(i) * 1000, Title: "x"}
		}
		got := lectern.ImportedChapters(in, int64(len(in))*1000)
		if len(got) != lectern.MaxChapters || got[len(got)-1].StartMS != int64(lectern.MaxChapters-1)*1000 {
			t.Errorf("got %d chapters, the last at %d ms; want the first %d", len(got), got[len(got)-1].StartMS, lectern.MaxChapters)
		}
	})
}
