package captions

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	xunicode "golang.org/x/text/encoding/unicode"

	"github.com/lectern/lectern"
)

// Encodings a file may be read in (Result.Encoding).
const (
	encUTF8        = "UTF-8"
	encUTF16LE     = "UTF-16LE"
	encUTF16BE     = "UTF-16BE"
	encWindows1252 = "Windows-1252"
)

// decode turns a file's bytes into text with "\n" line ends, and names the
// encoding it was read in.
func decode(data []byte) (string, string, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return "", "", lectern.Errorf(lectern.EINVALID, "the file is empty")
	}
	var (
		text string
		enc  string
		err  error
	)
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		text, enc = string(data[3:]), encUTF8
		if !utf8.ValidString(text) {
			// A UTF-8 BOM in front of text that is not UTF-8: the BOM is
			// the part to distrust.
			text, err = decodeWith(charmap.Windows1252, data[3:])
			enc = encWindows1252
		}
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		text, err = decodeWith(xunicode.UTF16(xunicode.LittleEndian, xunicode.IgnoreBOM), data[2:])
		enc = encUTF16LE
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		text, err = decodeWith(xunicode.UTF16(xunicode.BigEndian, xunicode.IgnoreBOM), data[2:])
		enc = encUTF16BE
	default:
		text, enc, err = decodeUnmarked(data)
	}
	if err != nil {
		return "", "", lectern.Errorf(lectern.EINVALID, "the file's text cannot be read")
	}
	if !looksLikeText(text) {
		return "", "", lectern.Errorf(lectern.EINVALID, "this is not a text file: upload a WebVTT (.vtt) or SubRip (.srt) caption file")
	}
	text = strings.TrimPrefix(text, "\uFEFF")
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	return text, enc, nil
}

// decodeUnmarked reads a file without a byte order mark: UTF-16 when its
// NUL bytes fall in the pattern of mostly-ASCII UTF-16, else UTF-8, else
// Windows-1252.
func decodeUnmarked(data []byte) (string, string, error) {
	if le, be := utf16Pattern(data); le || be {
		order, enc := xunicode.LittleEndian, encUTF16LE
		if be {
			order, enc = xunicode.BigEndian, encUTF16BE
		}
		text, err := decodeWith(xunicode.UTF16(order, xunicode.IgnoreBOM), data)
		return text, enc, err
	}
	if utf8.Valid(data) {
		return string(data), encUTF8, nil
	}
	text, err := decodeWith(charmap.Windows1252, data)
	return text, encWindows1252, err
}

// utf16Pattern reports whether the first KiB of data looks like UTF-16
// text of mostly Latin script, little- or big-endian: NUL in nearly every
// second byte and in almost no other.
func utf16Pattern(data []byte) (le, be bool) {
	n := min(len(data), 1024) &^ 1
	if n < 8 {
		return false, false
	}
	var even, odd int
	for i := 0; i < n; i += 2 {
		if data[i] == 0 {
			even++
		}
		if data[i+1] == 0 {
			odd++
		}
	}
	pairs := n / 2
	return odd*10 >= pairs*9 && even*20 < pairs, even*10 >= pairs*9 && odd*20 < pairs
}

func decodeWith(e encoding.Encoding, data []byte) (string, error) {
	b, err := e.NewDecoder().Bytes(data)
	return string(b), err
}

// looksLikeText reports whether s is text rather than a binary file: no
// NUL, and control characters other than white space in at most one in a
// hundred characters.
func looksLikeText(s string) bool {
	if strings.IndexByte(s, 0) >= 0 {
		return false
	}
	controls, total := 0, 0
	for _, r := range s {
		total++
		if unicode.IsControl(r) && !unicode.IsSpace(r) {
			controls++
		}
	}
	return controls*100 <= total
}
