package lectern

import (
	"bytes"
	"encoding/binary"
	"unicode/utf8"
)

// RecordingHeadSize is how many of a file's first bytes CheckRecordingHead
// looks at: enough for every signature it knows (a tar header names itself
// at byte 257) and for a text file to show that it is text.
const RecordingHeadSize = 4096

// CheckRecordingHead judges from head, the first RecordingHeadSize bytes of
// a file (all of it when shorter), whether the file can be a recording, so
// that an upload can be refused before the rest of it is sent. It returns
// an EINVALID *Error whose message a teacher can read when the file
//
//   - is empty;
//   - starts with the signature of something that is not a recording: an
//     image (PNG, JPEG, GIF, WebP, BMP, TIFF, HEIC, AVIF), a document (PDF,
//     Office, OpenDocument), an archive (ZIP, gzip, bzip2, xz, 7-Zip, RAR,
//     tar, Zstandard) or a program (ELF, Windows);
//   - is text: a playlist, concat list or SDP description, which would make
//     a demuxer open other files or URLs, gets a message of its own; any
//     other text is an unsupported type.
//
// Everything else passes, including every container the transcode worker
// accepts (MP4, MOV, M4A, 3GP, Matroska, WebM, AVI, MPEG-TS, FLV, Ogg, MP3
// with or without ID3, WAV, FLAC, AAC): they all start with binary
// signatures none of the refused kinds shares. A binary head this check
// does not recognise passes too: the worker's ffprobe is the final judge,
// and refusing a real recording merely because its first bytes were
// unfamiliar would be worse than letting a bad file reach the worker.
// Bytes past RecordingHeadSize are ignored, so every caller gets the same
// answer for the same file.
func CheckRecordingHead(head []byte) error {
	if len(head) > RecordingHeadSize {
		head = head[:RecordingHeadSize]
	}
	if len(head) == 0 {
		return Errorf(EINVALID, "The file is empty")
	}
	if kind := notRecordingKind(head); kind != "" {
		return UnsupportedFileError(kind)
	}
	if looksLikeText(head) {
		return textError(head)
	}
	return nil
}

// UnsupportedFileError is the EINVALID error for a file of a kind that is
// not a recording, named as a teacher knows it ("PNG image", "text"); with
// kind "" the message names no kind.
func UnsupportedFileError(kind string) *Error {
	if kind == "" {
		return Errorf(EINVALID, "Unsupported file type")
	}
	return Errorf(EINVALID, "Unsupported file type (%s). Please upload MP4, MOV, MKV, WebM, AVI, MPEG-TS, FLV or Ogg video, or MP3, M4A, WAV, FLAC, AAC or Ogg audio", kind)
}

// PlaylistError is the EINVALID error for a file that describes other
// files (an HLS or PLS playlist, a concat list, an SDP description)
// instead of containing media.
func PlaylistError() *Error {
	return Errorf(EINVALID, "This looks like a playlist, not a video file")
}

// notRecordingKind names what h is when it starts with the signature of a
// well-known kind of file that is not a recording, and returns "" otherwise.
func notRecordingKind(h []byte) string {
	if kind := heifImage(h); kind != "" {
		return kind
	}
	has := func(prefix string) bool { return bytes.HasPrefix(h, []byte(prefix)) }
	switch {
	case has("\x89PNG\r\n\x1a\n"):
		return "PNG image"
	case has("\xff\xd8\xff"):
		return "JPEG image"
	case has("GIF87a"), has("GIF89a"):
		return "GIF image"
	case riffForm(h) == "WEBP":
		return "WebP image"
	case isBMP(h):
		return "BMP image"
	case has("II*\x00"), has("MM\x00*"), has("II+\x00"), has("MM\x00+"):
		return "TIFF image" // camera raw files (CR2, NEF, DNG) are TIFF too
	case has("%PDF-"):
		return "PDF document"
	case has("PK\x03\x04"), has("PK\x05\x06"):
		return zipKind(h)
	case has("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
		return "Office document" // .doc, .xls and .ppt before 2007
	case has("\x1f\x8b"):
		return "gzip archive"
	case len(h) >= 10 && has("BZh") && h[3] >= '1' && h[3] <= '9' && string(h[4:10]) == "1AY&SY":
		return "bzip2 archive"
	case has("\xfd7zXZ\x00"):
		return "xz archive"
	case has("7z\xbc\xaf\x27\x1c"):
		return "7-Zip archive"
	case has("Rar!\x1a\x07"):
		return "RAR archive"
	case has("\x28\xb5\x2f\xfd"):
		return "Zstandard archive"
	case len(h) >= 262 && string(h[257:262]) == "ustar":
		return "tar archive"
	case has("\x7fELF"), has("MZ") && !looksLikeText(h):
		return "program"
	}
	return ""
}

// riffForm returns the form type of a RIFF file ("WAVE", "AVI ", "WEBP"),
// or "" when h is not one.
func riffForm(h []byte) string {
	if len(h) < 12 || string(h[:4]) != "RIFF" {
		return ""
	}
	return string(h[8:12])
}

// isBMP reports whether h starts like a Windows bitmap: "BM", reserved
// zero bytes, and one of the known sizes of the header that follows. "BM"
// alone could start a line of text.
func isBMP(h []byte) bool {
	if len(h) < 18 || string(h[:2]) != "BM" || binary.LittleEndian.Uint32(h[6:10]) != 0 {
		return false
	}
	switch binary.LittleEndian.Uint32(h[14:18]) {
	case 12, 16, 40, 52, 56, 64, 108, 124:
		return true
	}
	return false
}

// heifImage names the still image in an ISO media file whose major brand
// says HEIF ("HEIC image") or AVIF ("AVIF image"), and returns "" for any
// other ISO media file: MP4, MOV, M4A and 3GP share the same "ftyp" box
// but not its brands. Image sequences (brands msf1, hevc, avis) hold a
// real video track and are left to the worker.
func heifImage(h []byte) string {
	if len(h) < 12 || string(h[4:8]) != "ftyp" {
		return ""
	}
	switch string(h[8:12]) {
	case "avif", "avio":
		return "AVIF image"
	case "heic", "heix", "heim", "heis":
		return "HEIC image"
	case "mif1", "mif2":
		// The generic HEIF brand: the compatible brands tell AVIF apart.
		end := min(int(binary.BigEndian.Uint32(h[:4])), len(h))
		for i := 16; i+4 <= end; i += 4 {
			if string(h[i:i+4]) == "avif" {
				return "AVIF image"
			}
		}
		return "HEIC image"
	}
	return ""
}

// zipKind names a ZIP file after the office format it carries, judged by
// the member names in its first local headers.
func zipKind(h []byte) string {
	contains := func(s string) bool { return bytes.Contains(h, []byte(s)) }
	switch {
	case contains("mimetype") && contains("application/vnd.oasis.opendocument"):
		return "OpenDocument file"
	case contains("ppt/"):
		return "PowerPoint presentation"
	case contains("word/"):
		return "Word document"
	case contains("xl/"):
		return "Excel spreadsheet"
	case contains("[Content_Types].xml"):
		return "Office document"
	}
	return "ZIP archive"
}

// textError judges a text file: an SVG picture, a playlist of some kind
// (ffprobe would follow the paths and URLs in it), or other text.
func textError(head []byte) error {
	lower := bytes.ToLower(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")))
	if bytes.Contains(lower, []byte("<svg")) {
		return UnsupportedFileError("SVG image")
	}
	if bytes.HasPrefix(lower, []byte("/")) {
		return PlaylistError()
	}
	// What playlists, concat lists and SDP descriptions contain and prose
	// rarely does: tags, URLs, file directives, paths.
	for _, marker := range []string{"#extm3u", "#ext-x-", "ffconcat", "[playlist]", "://", "<smil", "<asx", "<?xml", "file ", "file:", "v=0", "\n/"} {
		if bytes.Contains(lower, []byte(marker)) {
			return PlaylistError()
		}
	}
	return UnsupportedFileError("text")
}

// looksLikeText reports whether head is UTF-8 text without control
// characters other than whitespace.
func looksLikeText(head []byte) bool {
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	// A multi-byte character may be cut at the end of the sample.
	for i := 0; i < 3 && len(head) > 0 && !utf8.Valid(head); i++ {
		head = head[:len(head)-1]
	}
	if len(head) == 0 || !utf8.Valid(head) {
		return false
	}
	for _, r := range string(head) {
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r' && r != '\f') || r == 0x7f {
			return false
		}
	}
	return true
}
