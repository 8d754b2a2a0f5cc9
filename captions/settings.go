package captions

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// settingOrder is the order canonical settings are written in.
var settingOrder = [...]string{"vertical", "line", "position", "size", "align"}

// canonicalSettings keeps the WebVTT cue settings of s whose values are
// valid (the last of each name wins, as in the WebVTT parser), in a fixed
// order, and drops the rest. It reports whether a region setting was
// dropped: regions are not kept (see the package documentation).
func canonicalSettings(s string) (string, bool) {
	vals := map[string]string{}
	region := false
	for _, field := range strings.Fields(s) {
		name, value, ok := strings.Cut(field, ":")
		if !ok || value == "" || len(value) > 32 {
			continue
		}
		switch name {
		case "region":
			region = true
			continue
		case "vertical":
			ok = value == "rl" || value == "lr"
		case "line":
			ok = validLine(value)
		case "position":
			value, ok = validPosition(value)
		case "size":
			ok = validPercentage(value)
		case "align":
			if value == "middle" {
				value = "center"
			}
			ok = value == "start" || value == "center" || value == "end" || value == "left" || value == "right"
		default:
			ok = false
		}
		if ok {
			vals[name] = value
		}
	}
	var out []string
	for _, name := range settingOrder {
		if v, ok := vals[name]; ok {
			out = append(out, name+":"+v)
		}
	}
	return strings.Join(out, " "), region
}

// validLine checks a line setting: a line number or a percentage,
// optionally followed by ",start", ",center" or ",end".
func validLine(v string) bool {
	pos, align, hasAlign := strings.Cut(v, ",")
	if hasAlign && align != "start" && align != "center" && align != "end" {
		return false
	}
	if strings.HasSuffix(pos, "%") {
		return validPercentage(pos)
	}
	return isDecimal(strings.TrimPrefix(pos, "-"))
}

// validPosition checks a position setting (a percentage, optionally
// followed by ",line-left", ",center" or ",line-right"; the older
// start, middle and end are rewritten to those) and returns it canonical.
func validPosition(v string) (string, bool) {
	pos, align, hasAlign := strings.Cut(v, ",")
	if !validPercentage(pos) {
		return "", false
	}
	if !hasAlign {
		return pos, true
	}
	switch align {
	case "start":
		align = "line-left"
	case "middle":
		align = "center"
	case "end":
		align = "line-right"
	case "line-left", "center", "line-right":
	default:
		return "", false
	}
	return pos + "," + align, true
}

// validPercentage checks a percentage from 0% to 100%.
func validPercentage(v string) bool {
	num, ok := strings.CutSuffix(v, "%")
	if !ok || !isDecimal(num) {
		return false
	}
	f, err := strconv.ParseFloat(num, 64)
	return err == nil && f >= 0 && f <= 100
}

// isDecimal reports whether s is digits, optionally with a fraction.
func isDecimal(s string) bool {
	whole, frac, hasFrac := strings.Cut(s, ".")
	if _, ok := number(whole, 1, 9); !ok {
		return false
	}
	if hasFrac {
		_, ok := number(frac, 1, 9)
		return ok
	}
	return true
}

// cleanIDs keeps the cue identifiers that can be written back and read as
// the same: not a cue number, not a line that opens a NOTE, STYLE or
// REGION block, no "-->", no control characters, at most 100 characters,
// and each used once.
func cleanIDs(cues []Cue) {
	seen := make(map[string]bool)
	for i := range cues {
		id := strings.TrimSpace(cues[i].ID)
		switch {
		case id == "", isDigits(id), blockKeyword(id) != "", strings.Contains(id, "-->"),
			strings.ContainsFunc(id, unicode.IsControl), !utf8.ValidString(id),
			utf8.RuneCountInString(id) > 100, seen[id]:
			id = ""
		}
		if id != "" {
			seen[id] = true
		}
		cues[i].ID = id
	}
}
