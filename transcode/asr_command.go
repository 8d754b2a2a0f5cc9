package transcode

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"unicode"
)

// Placeholders of a recognizer's command line (LECTERN_ASR_COMMAND).
const (
	// PlaceholderAudio is the recording's sound: a 16 kHz mono 16-bit WAV.
	PlaceholderAudio = "{audio}"
	// PlaceholderOutput is the file the recognizer writes, WebVTT or SRT.
	PlaceholderOutput = "{output}"
	// PlaceholderLang is the language to recognise (LECTERN_ASR_LANG).
	PlaceholderLang = "{lang}"
)

// Recognizer is a speech-to-text program run as a command line: it reads
// a lesson's sound and writes timed text (WebVTT or SubRip). Use
// ParseRecognizer to make one.
type Recognizer struct {
	// Args is the command line, split into words, placeholders unexpanded.
	Args []string
	// Lang is the canonical BCP 47 tag the captions are saved under, and
	// what {lang} becomes.
	Lang string
	// Label is the draft track's label: "English (automatic)".
	Label string
	// Memory is the address space the recognizer may use; 0 is the
	// pipeline's ffmpeg limit.
	Memory int64
}

// ParseRecognizer splits command, a command line template, into words
// (spaces separate them; single or double quotes keep spaces inside one;
// no shell is involved) and checks it: it must use {audio} and {output},
// and no other placeholder than those and {lang}. Check tells whether its
// program can be run here.
func ParseRecognizer(command, lang, label string) (*Recognizer, error) {
	args, err := splitCommand(command)
	if err != nil {
		return nil, err
	}
	if len(args) == 0 {
		return nil, errors.New("the command is empty")
	}
	joined := strings.Join(args, " ")
	for _, ph := range []string{PlaceholderAudio, PlaceholderOutput} {
		if !strings.Contains(joined, ph) {
			return nil, fmt.Errorf("the command must contain %s", ph)
		}
	}
	rest := strings.NewReplacer(PlaceholderAudio, "", PlaceholderOutput, "", PlaceholderLang, "").Replace(joined)
	if i := strings.IndexByte(rest, '{'); i >= 0 {
		if j := strings.IndexByte(rest[i:], '}'); j > 0 {
			return nil, fmt.Errorf("unknown placeholder %s: use {audio}, {output} and {lang}", rest[i:i+j+1])
		}
	}
	if strings.Contains(args[0], "{") {
		return nil, errors.New("the program cannot be a placeholder")
	}
	return &Recognizer{Args: args, Lang: lang, Label: label}, nil
}

// Check reports whether the recognizer's program is found (on PATH, or
// as a path) and executable, as a worker checks it at start-up.
func (r *Recognizer) Check() error {
	if _, err := exec.LookPath(r.Args[0]); err != nil {
		return fmt.Errorf("program %s not found or not executable", r.Args[0])
	}
	return nil
}

// splitCommand splits a command line into words as a shell would for
// plain words and quotes, without expanding anything.
func splitCommand(s string) ([]string, error) {
	var (
		words   []string
		cur     strings.Builder
		inWord  bool
		quote   rune
		pending bool
	)
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, inWord, pending = r, true, true
		case unicode.IsSpace(r):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord, pending = false, false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unclosed %c quote", quote)
	}
	if inWord || pending {
		words = append(words, cur.String())
	}
	return words, nil
}

// expand returns the command line for one run: its program resolved, the
// placeholders replaced, and the paths it must be able to read inside the
// sandbox: the audio file and every absolute path of the template that
// exists (the recognizer's program, its model), besides the system's own
// directories, which the sandbox always shows.
func (r *Recognizer) expand(audio, output string) (bin string, args, readable []string, err error) {
	rep := strings.NewReplacer(PlaceholderAudio, audio, PlaceholderOutput, output, PlaceholderLang, r.Lang)
	bin, err = exec.LookPath(r.Args[0])
	if err != nil {
		return "", nil, nil, setupIfMissing(&RunError{Op: "recognize", Err: err})
	}
	if abs, err := filepath.Abs(bin); err == nil {
		bin = abs
	}
	readable = []string{audio}
	for _, a := range r.Args[1:] {
		if filepath.IsAbs(a) && !strings.Contains(a, "{") {
			if _, err := os.Stat(a); err == nil {
				readable = append(readable, a)
			}
		}
		args = append(args, rep.Replace(a))
	}
	return bin, args, readable, nil
}
