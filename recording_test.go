package lectern_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/internal/testenv"
)

// The reasons a teacher reads, as the worker has always given them.
const (
	playlistReason = "This looks like a playlist, not a video file"
	pleaseUpload   = "Please upload MP4, MOV, MKV, WebM, AVI, MPEG-TS, FLV or Ogg video, or MP3, M4A, WAV, FLAC, AAC or Ogg audio"
)

func unsupported(kind string) string { return "Unsupported file type (" + kind + "). " + pleaseUpload }

// Every container the worker accepts passes, judged on the first bytes of
// a real file that ffmpeg wrote.
func TestCheckRecordingHeadAcceptsRecordings(t *testing.T) {
	ffmpeg, _ := testenv.FFmpeg(t)
	video := []string{"-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10:duration=0.3"}
	audio := []string{"-f", "lavfi", "-i", "sine=frequency=440:duration=0.3"}
	av := append(append([]string{}, video...), audio...)
	x264 := concat(av, "-c:v", "libx264", "-preset", "ultrafast")
	tests := []struct {
		name string // the file name ffmpeg writes, whose extension picks the muxer
		args []string
	}{
		{"lesson.mp4", concat(x264, "-c:a", "aac")},
		{"lesson.mov", concat(x264, "-c:a", "aac")},
		{"lecture.m4a", concat(audio, "-c:a", "aac")},
		{"phone.3gp", concat(x264, "-c:a", "aac")},
		{"screen.mkv", concat(x264, "-c:a", "flac")},
		{"browser.webm", concat(av, "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-c:a", "libopus")},
		{"old.avi", concat(av, "-c:v", "mpeg4", "-c:a", "libmp3lame")},
		{"broadcast.ts", concat(av, "-c:v", "mpeg2video", "-c:a", "mp2")},
		{"flash.flv", concat(av, "-c:v", "flv", "-c:a", "libmp3lame")},
		{"talk.ogg", concat(audio, "-c:a", "libvorbis")},
		{"tagged.mp3", concat(audio, "-c:a", "libmp3lame")},
		{"bare.mp3", concat(audio, "-c:a", "libmp3lame", "-id3v2_version", "0")},
		{"voice.wav", concat(audio, "-c:a", "pcm_s16le")},
		{"voice.flac", concat(audio, "-c:a", "flac")},
		{"voice.aac", concat(audio, "-c:a", "aac")},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head := ffmpegHead(t, ffmpeg, filepath.Join(dir, tt.name), tt.args...)
			if err := lectern.CheckRecordingHead(head); err != nil {
				t.Errorf("CheckRecordingHead refused %s (starts % x): %v", tt.name, head[:min(16, len(head))], err)
			}
		})
	}
}

// Pictures are refused by name, judged on real files that ffmpeg wrote.
func TestCheckRecordingHeadRefusesImages(t *testing.T) {
	ffmpeg, _ := testenv.FFmpeg(t)
	still := []string{"-f", "lavfi", "-i", "testsrc2=size=64x64:rate=1", "-frames:v", "1"}
	tests := []struct {
		name string
		args []string
		kind string
	}{
		{"slide.png", still, "PNG image"},
		{"photo.jpg", still, "JPEG image"},
		{"meme.gif", still, "GIF image"},
		{"photo.webp", concat(still, "-c:v", "libwebp"), "WebP image"},
		{"scan.bmp", still, "BMP image"},
		{"scan.tiff", still, "TIFF image"},
		{"photo.avif", concat(still, "-c:v", "libaom-av1", "-cpu-used", "8"), "AVIF image"},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head := ffmpegHead(t, ffmpeg, filepath.Join(dir, tt.name), tt.args...)
			wantRefused(t, head, unsupported(tt.kind))
		})
	}
}

// Refused kinds that ffmpeg does not write: archives made with Go's own
// packages, and signatures built byte by byte from their specifications
// where neither can make the file (Go writes no bzip2, xz, 7-Zip, RAR or
// Zstandard; this ffmpeg has no HEIF muxer).
func TestCheckRecordingHeadRefusesDocumentsAndArchives(t *testing.T) {
	tests := []struct {
		name string
		head []byte
		want string
	}{
		{"ZIP", zipOf(t, "notes.txt", "lecture notes\n"), unsupported("ZIP archive")},
		{"Word", zipOf(t, "[Content_Types].xml", "<Types/>", "_rels/.rels", "<Relationships/>", "word/document.xml", "<w:document/>"), unsupported("Word document")},
		{"PowerPoint", zipOf(t, "[Content_Types].xml", "<Types/>", "ppt/presentation.xml", "<p:presentation/>"), unsupported("PowerPoint presentation")},
		{"Excel", zipOf(t, "[Content_Types].xml", "<Types/>", "xl/workbook.xml", "<workbook/>"), unsupported("Excel spreadsheet")},
		{"OpenDocument", zipOf(t, "mimetype", "application/vnd.oasis.opendocument.presentation", "content.xml", "<office/>"), unsupported("OpenDocument file")},
		{"EmptyZIP", zipOf(t), unsupported("ZIP archive")},
		{"Gzip", gzipOf(t, "lesson.mp4"), unsupported("gzip archive")},
		{"Tar", tarOf(t, "lesson.mp4", "\x00\x00\x00\x20ftypisom"), unsupported("tar archive")},
		{"PDF", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"), unsupported("PDF document")},
		{"AllASCIIPDF", []byte("%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"), unsupported("PDF document")},
		{"OldOffice", []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00\x00\x00\x00\x00\x00\x00\x3e\x00\x03\x00\xfe\xff"), unsupported("Office document")},
		{"Bzip2", []byte("BZh91AY&SY\x8b\x5c\x3f\x0e\x00\x00\x01\x41\x80\x00\x10\x02"), unsupported("bzip2 archive")},
		{"XZ", []byte("\xfd7zXZ\x00\x00\x04\xe6\xd6\xb4\x46\x02\x00\x21\x01"), unsupported("xz archive")},
		{"7Zip", []byte("7z\xbc\xaf\x27\x1c\x00\x04\x8d\x9b\xd5\x0f\x00\x00\x00\x00"), unsupported("7-Zip archive")},
		{"RAR5", []byte("Rar!\x1a\x07\x01\x00\x33\x92\xb5\xe5\x0a\x01\x05\x06"), unsupported("RAR archive")},
		{"Zstandard", []byte("\x28\xb5\x2f\xfd\x24\x0d\x69\x00\x00"), unsupported("Zstandard archive")},
		{"ELF", []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00"), unsupported("program")},
		{"WindowsProgram", []byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"), unsupported("program")},
		// As an iPhone writes it: major brand heic, compatible mif1 and heic.
		{"HEIC", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic\x00\x00\x01\x0ameta"), unsupported("HEIC image")},
		{"HEIFGenericBrand", []byte("\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic\x00\x00\x01\x0ameta"), unsupported("HEIC image")},
		{"AVIFGenericBrand", []byte("\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1miafavif\x00\x00\x01\x0ameta"), unsupported("AVIF image")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantRefused(t, tt.head, tt.want) })
	}
}

func TestCheckRecordingHeadText(t *testing.T) {
	// Longer than the head, with a two-byte character cut at its end.
	long := strings.Repeat("a", lectern.RecordingHeadSize-1) + "é and more notes"
	tests := []struct {
		name, head, want string
	}{
		{"Empty", "", "The file is empty"},
		{"HLSWithBOM", "\xef\xbb\xbf#EXTM3U\n#EXTINF:10,\nhttp://example.com/a.ts\n", playlistReason},
		{"HLSMedia", "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nseg-1.ts\n", playlistReason},
		{"PLS", "[playlist]\nFile1=http://example.com/stream\n", playlistReason},
		{"Concat", "ffconcat version 1.0\nfile /etc/passwd\n", playlistReason},
		{"SDP", "v=0\no=- 0 0 IN IP4 127.0.0.1\nm=video 5004 RTP/AVP 96\n", playlistReason},
		{"PathList", "/home/teacher/lesson1.mp4\n/home/teacher/lesson2.mp4\n", playlistReason},
		{"SMIL", "<?xml version=\"1.0\"?>\n<smil><body><video src=\"a.mp4\"/></body></smil>\n", playlistReason},
		{"Prose", "Chapter 1\r\nLimits and continuity.\r\n", unsupported("text")},
		{"ProseStartingLikeABitmap", "BMW and other cars, a lesson in design.\n", unsupported("text")},
		{"ProseStartingLikeAProgram", "MZ stands for Mittelzentrum.\n", unsupported("text")},
		{"LongUTF8CutAtTheHead", long, unsupported("text")},
		{"SVG", "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"/>\n", unsupported("SVG image")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantRefused(t, []byte(tt.head), tt.want) })
	}
}

// A binary head nobody recognises is the worker's to judge; so is a head
// whose text starts only after RecordingHeadSize binary bytes.
func TestCheckRecordingHeadLeavesUnknownBinaryToTheWorker(t *testing.T) {
	random := make([]byte, lectern.RecordingHeadSize)
	rng := rand.New(rand.NewChaCha8([32]byte{'h', 'e', 'a', 'd'}))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	for name, head := range map[string][]byte{
		"Random":             random,
		"Zeros":              make([]byte, 100),
		"OneByte":            {0x80},
		"TextAfterTheHead":   append(bytes.Repeat([]byte{0}, lectern.RecordingHeadSize), "#EXTM3U\n"...),
		"UnknownISOBrand":    []byte("\x00\x00\x00\x14ftypzzzz\x00\x00\x00\x00zzzz\x00\x00\x00\x08free"),
		"AnimatedAVIF":       []byte("\x00\x00\x00\x20ftypavis\x00\x00\x00\x00avifavismsf1iso8mif1"),
		"RIFFOfAnotherForm":  []byte("RIFF\x24\x00\x00\x00CDXAfmt \x10\x00\x00\x00"),
		"QuickTimeMdatFirst": []byte("\x00\x10\x00\x00mdat\x00\x00\x02\xad\x06\x05\xff\xff\xa9\xdc\x45\xe9"),
	} {
		t.Run(name, func(t *testing.T) {
			if err := lectern.CheckRecordingHead(head); err != nil {
				t.Errorf("CheckRecordingHead refused it: %v", err)
			}
		})
	}
}

func wantRefused(t *testing.T, head []byte, want string) {
	t.Helper()
	err := lectern.CheckRecordingHead(head)
	if lectern.ErrorCode(err) != lectern.EINVALID || lectern.ErrorMessage(err) != want {
		t.Errorf("CheckRecordingHead(% x…) = %v, want %s %q", head[:min(12, len(head))], err, lectern.EINVALID, want)
	}
}

func concat(args []string, more ...string) []string {
	return append(append([]string{}, args...), more...)
}

// ffmpegHead has ffmpeg write path and returns the file's first
// RecordingHeadSize bytes.
func ffmpegHead(t *testing.T, ffmpeg, path string, args ...string) []byte {
	t.Helper()
	full := concat([]string{"-hide_banner", "-nostdin", "-v", "error"}, args...)
	if out, err := exec.Command(ffmpeg, concat(full, "-y", path)...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", filepath.Base(path), err, out)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := make([]byte, lectern.RecordingHeadSize)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF {
		t.Fatal(err)
	}
	return head[:n]
}

// zipOf writes a ZIP of the given name and content pairs with archive/zip,
// compressed except for a "mimetype" member, which OpenDocument stores
// first and uncompressed.
func zipOf(t *testing.T, nameContent ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for i := 0; i+1 < len(nameContent); i += 2 {
		h := &zip.FileHeader{Name: nameContent[i], Method: zip.Deflate}
		if h.Name == "mimetype" {
			h.Method = zip.Store
		}
		f, err := w.CreateHeader(h)
		if err == nil {
			_, err = io.WriteString(f, nameContent[i+1])
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gzipOf compresses the start of an MP4, under the name name.
func gzipOf(t *testing.T, name string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Name = name
	if _, err := w.Write(bytes.Repeat([]byte("\x00\x00\x00\x20ftypisom"), 1000)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tarOf archives one file with archive/tar.
func tarOf(t *testing.T, name, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	if err := w.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content))}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, content); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
