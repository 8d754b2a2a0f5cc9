package captions

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// ParseLanguage reads a BCP 47 language tag ("en", "pt-br", "pt_BR") and
// returns its canonical form ("pt-BR") and the tag; ok is false when raw
// is not a language tag.
func ParseLanguage(raw string) (canonical string, tag language.Tag, ok bool) {
	if raw == "" || len(raw) > 35 {
		return "", language.Und, false
	}
	tag, err := language.Parse(raw)
	if err != nil || tag == language.Und {
		return "", language.Und, false
	}
	if _, conf := tag.Base(); conf == language.No {
		return "", language.Und, false
	}
	return tag.String(), tag, true
}

// LanguageLabel is a track's label when nobody gives one: the language's
// name in that language ("Deutsch", "Português (Brasil)"), in English
// when that is not known, else the tag itself.
func LanguageLabel(tag language.Tag) string {
	name := ""
	if n := display.Tags(tag); n != nil {
		name = n.Name(tag)
	}
	if name == "" {
		name = display.Self.Name(tag)
	}
	if name == "" {
		name = display.English.Tags().Name(tag)
	}
	if name == "" {
		return tag.String()
	}
	r, size := utf8.DecodeRuneInString(name)
	return string(unicode.ToUpper(r)) + name[size:]
}
