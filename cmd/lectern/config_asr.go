package main

import (
	"github.com/lectern/lectern/captions"
	"github.com/lectern/lectern/transcode"
)

// validateASR checks the automatic captions settings: the command's
// syntax and placeholders, and the language. Whether its program runs
// here is checked by the worker, the only process that runs it.
func (c *Config) validateASR() error {
	if c.ASRCommand == "" {
		return nil
	}
	if _, err := c.recognizer(); err != nil {
		return err
	}
	return nil
}

// recognizer is the configured speech recognizer; nil when there is none.
func (c *Config) recognizer() (*transcode.Recognizer, error) {
	if c.ASRCommand == "" {
		return nil, nil
	}
	lang, tag, ok := captions.ParseLanguage(c.ASRLang)
	if !ok {
		return nil, c.errorf("LECTERN_ASR_LANG", "must be a BCP 47 language tag such as en, de or pt-BR, got %q", c.ASRLang)
	}
	r, err := transcode.ParseRecognizer(c.ASRCommand, lang, captions.LanguageLabel(tag)+" (automatic)")
	if err != nil {
		return nil, c.errorf("LECTERN_ASR_COMMAND", "%v", err)
	}
	r.Memory = c.FFmpegMemory
	return r, nil
}
