package captions_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lectern/lectern/captions"
)

// BenchmarkParse reads an hour of SubRip captions (a cue every two
// seconds), and a 2 MiB cue of mis-nested tags that would take minutes if
// closing a tag cost more than constant time.
func BenchmarkParse(b *testing.B) {
	var hour strings.Builder
	for i := range 1800 {
		ms := int64(i) * 2000
		fmt.Fprintf(&hour, "%d\r\n%s --> %s\r\n<i>Line %d</i> of the lecture, &amp; more\r\nsecond line\r\n\r\n",
			i+1, strings.Replace(captions.Timestamp(ms), ".", ",", 1), strings.Replace(captions.Timestamp(ms+1900), ".", ",", 1), i)
	}
	for _, in := range []struct{ name, data string }{
		{"Hour", hour.String()},
		{"MisnestedTags", "00:00:01.000 --> 00:00:02.000\n" + strings.Repeat("<i>a</b>", 2<<20/8)},
	} {
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(in.data)))
			for b.Loop() {
				if _, err := captions.Parse([]byte(in.data), captions.Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
