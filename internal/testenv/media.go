package testenv

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// SlideLecture generates, with ffmpeg, a recording of slides slides of
// seconds seconds each, 640×360 with a tone, in MP4: white slides whose
// "text" is dark bars of other lengths on each (a title and four lines, as
// text on one template differs), one slide in solid blue, and a 4×4
// pointer wandering over all of them, as a mouse does. The slides change
// at every multiple of seconds. It needs no font.
func SlideLecture(tb testing.TB, slides, seconds int) string {
	tb.Helper()
	ffmpeg, _ := FFmpeg(tb)
	var args []string
	var graph strings.Builder
	for i := range slides {
		args = append(args, "-f", "lavfi", "-i", fmt.Sprintf("color=c=white:s=640x360:r=30:d=%d", seconds))
		bg := "white"
		if i == 3 {
			bg = "0x2050a0"
		}
		fmt.Fprintf(&graph, "[%d:v]drawbox=x=0:y=0:w=640:h=360:color=%s:t=fill,drawbox=x=40:y=30:w=%d:h=18:color=black:t=fill", i, bg, 260+i*40)
		for j, w := range []int{200 + i*37%200, 300 + i*53%250, 150 + i*71%300, 250 + i*29%200} {
			fmt.Fprintf(&graph, ",drawbox=x=60:y=%d:w=%d:h=5:color=0x333333:t=fill", 100+30*j, w)
		}
		fmt.Fprintf(&graph, "[b%d];", i)
	}
	for i := range slides {
		fmt.Fprintf(&graph, "[b%d]", i)
	}
	total := slides * seconds
	fmt.Fprintf(&graph, "concat=n=%d:v=1:a=0[c];color=c=black:s=4x4:r=30:d=%d[p];[c][p]overlay=x='mod(t*60,600)':y='200+20*sin(t)'[v]", slides, total)
	out := filepath.Join(tb.TempDir(), "slides.mp4")
	args = append(args, "-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:duration=%d", total),
		"-filter_complex", graph.String(), "-map", "[v]", "-map", fmt.Sprintf("%d:a", slides),
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", "-y", out)
	cmd := exec.Command(ffmpeg, append([]string{"-hide_banner", "-nostdin", "-v", "error"}, args...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("generate a slide lecture: %v\n%s", err, b)
	}
	return out
}
