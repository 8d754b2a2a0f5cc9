package testenv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Programs the speech fixtures need, as the skip summary names them.
const (
	needEspeak       = "espeak-ng"
	needPocketsphinx = "pocketsphinx"
)

// speechVoice is the espeak-ng voice of the fixtures: US English with the
// Klatt synthesiser, which PocketSphinx's US English model hears far
// better than espeak-ng's default voice.
const speechVoice = "en-us+klatt"

// SpokenWord is one word of a SpokenLecture and when it is spoken, in
// milliseconds from the start of the recording.
type SpokenWord struct {
	Text           string
	StartMS, EndMS int64
	// Sentence is the index of the sentence it belongs to.
	Sentence int
}

// SpokenLecture is a recording of synthetic speech whose timing is known.
type SpokenLecture struct {
	// Path is the recording: a tiny black video with the speech, in MP4
	// (H.264 and AAC).
	Path       string
	DurationMS int64
	// Words are every word spoken, in order.
	Words []SpokenWord
	// Silences are the spans, [start, end) in ms, where nothing is said:
	// before the first sentence, between sentences and after the last.
	Silences [][2]int64
}

// Pocketsphinx checks that CMU PocketSphinx and its US English model are
// installed (Debian: pocketsphinx, pocketsphinx-en-us), which
// contrib/asr/pocketsphinx.sh runs.
func Pocketsphinx(tb testing.TB) {
	tb.Helper()
	if _, err := exec.LookPath("pocketsphinx_continuous"); err != nil {
		unavailable(tb, needPocketsphinx, "pocketsphinx_continuous not found (apt-get install pocketsphinx pocketsphinx-en-us); skipping test")
	}
	if _, err := os.Stat("/usr/share/pocketsphinx/model/en-us/en-us.lm.bin"); err != nil {
		unavailable(tb, needPocketsphinx, "the PocketSphinx US English model is missing (apt-get install pocketsphinx-en-us); skipping test")
	}
}

// Lecture speaks sentences with espeak-ng, one after the other with pause
// of silence before, between and after them, and makes a recording of
// it. Each word's time is measured by synthesising the sentence up to and
// including that word: where that speech ends, in the whole sentence's
// timing, is where the word ends (within a few tens of milliseconds: the
// end of an utterance is drawn out a little).
func Lecture(tb testing.TB, sentences []string, pause time.Duration) *SpokenLecture {
	tb.Helper()
	espeak, err := exec.LookPath("espeak-ng")
	if err != nil {
		unavailable(tb, needEspeak, "espeak-ng not found (apt-get install espeak-ng); skipping test")
	}
	dir := tb.TempDir()
	synth := func(text string) *pcm {
		tb.Helper()
		out := filepath.Join(dir, "s.wav")
		if b, err := exec.Command(espeak, "-v", speechVoice, "-w", out, text).CombinedOutput(); err != nil {
			tb.Fatalf("espeak-ng %q: %v\n%s", text, err, b)
		}
		p, err := readPCM(out)
		if err != nil {
			tb.Fatalf("read espeak-ng output: %v", err)
		}
		return p
	}
	lec := &SpokenLecture{}
	var speech []int16
	rate := 0
	silence := func() {
		start := msOf(len(speech), rate)
		speech = append(speech, make([]int16, int(pause.Seconds()*float64(rate)))...)
		lec.Silences = append(lec.Silences, [2]int64{start, msOf(len(speech), rate)})
	}
	for i, sentence := range sentences {
		whole := synth(sentence)
		if rate == 0 {
			rate = whole.rate
			silence()
		}
		a, b := whole.voiced()
		offset := msOf(len(speech), rate)
		words := strings.Fields(sentence)
		prev := int64(0)
		for k := range words {
			end := msOf(b-a, rate)
			if k < len(words)-1 {
				p := synth(strings.Join(words[:k+1], " "))
				pa, pb := p.voiced()
				end = min(msOf(pb-pa, rate), end)
			}
			lec.Words = append(lec.Words, SpokenWord{Text: strings.Trim(words[k], ".,;:!?"),
				StartMS: offset + prev, EndMS: offset + end, Sentence: i})
			prev = end
		}
		speech = append(speech, whole.samples[a:b]...)
		silence()
	}
	lec.DurationMS = msOf(len(speech), rate)
	wav := filepath.Join(dir, "lecture.wav")
	if err := writePCM(wav, &pcm{rate: rate, samples: speech}); err != nil {
		tb.Fatal(err)
	}
	lec.Path = filepath.Join(dir, "lecture.mp4")
	ffmpeg, _ := FFmpeg(tb)
	// A tiny picture at 10 fps: the test is about the sound, and a
	// tiny video transcodes in a moment.
	cmd := exec.Command(ffmpeg, "-hide_banner", "-nostdin", "-v", "error",
		"-f", "lavfi", "-i", fmt.Sprintf("color=c=black:s=160x90:r=10:d=%.3f", float64(lec.DurationMS)/1000),
		"-i", wav, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "96k", "-shortest", "-y", lec.Path)
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("make the lecture recording: %v\n%s", err, b)
	}
	return lec
}

func msOf(samples, rate int) int64 { return int64(samples) * 1000 / int64(rate) }

// pcm is 16-bit mono sound.
type pcm struct {
	rate    int
	samples []int16
}

// voiced returns the span of samples between the first and the last that
// is clearly not silence.
func (p *pcm) voiced() (int, int) {
	const threshold = 300
	a, b := 0, len(p.samples)
	for a < b && abs16(p.samples[a]) < threshold {
		a++
	}
	for b > a && abs16(p.samples[b-1]) < threshold {
		b--
	}
	return a, b
}

func abs16(v int16) int32 {
	if v < 0 {
		return -int32(v)
	}
	return int32(v)
}

// readPCM reads a 16-bit mono WAV file, as espeak-ng writes them.
func readPCM(path string) (*pcm, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) < 12 || string(data[:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return nil, errors.New("not a WAV file")
	}
	p := &pcm{}
	for off := 12; off+8 <= len(data); {
		id, size := string(data[off:off+4]), int(binary.LittleEndian.Uint32(data[off+4:off+8]))
		body := data[off+8 : min(off+8+size, len(data))]
		switch id {
		case "fmt ":
			if binary.LittleEndian.Uint16(body[2:4]) != 1 || binary.LittleEndian.Uint16(body[14:16]) != 16 {
				return nil, errors.New("not 16-bit mono WAV")
			}
			p.rate = int(binary.LittleEndian.Uint32(body[4:8]))
		case "data":
			p.samples = make([]int16, len(body)/2)
			if err := binary.Read(bytes.NewReader(body[:len(p.samples)*2]), binary.LittleEndian, p.samples); err != nil {
				return nil, err
			}
		}
		off += 8 + size + size%2
	}
	if p.rate == 0 {
		return nil, errors.New("WAV file without a format")
	}
	return p, nil
}

// writePCM writes p as a 16-bit mono WAV file.
func writePCM(path string, p *pcm) error {
	var b bytes.Buffer
	n := uint32(len(p.samples) * 2)
	b.WriteString("RIFF")
	_ = binary.Write(&b, binary.LittleEndian, 36+n)
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(p.rate), uint32(p.rate * 2), uint16(2), uint16(16)} {
		_ = binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	_ = binary.Write(&b, binary.LittleEndian, n)
	_ = binary.Write(&b, binary.LittleEndian, p.samples)
	return os.WriteFile(path, b.Bytes(), 0o644)
}
