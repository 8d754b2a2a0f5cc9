package captions

import (
	"fmt"
	"strconv"
)

// notes counts what reading and normalising changed, for the warnings.
type notes struct {
	windows1252      bool
	styles           int
	regions          int
	regionSettings   int
	joined           int
	markup           int
	empty            int
	badTimes         int
	repeats          int
	unordered        bool
	pastEndDropped   int
	pastEndShortened int
	overlaps         int
}

// warnings says what changed, in words for a teacher, most important first.
func (n notes) warnings(durationMS int64) []string {
	w := []string{}
	add := func(cond bool, format string, args ...any) {
		if cond {
			w = append(w, fmt.Sprintf(format, args...))
		}
	}
	add(n.windows1252, "The file is not UTF-8, so it was read as Windows-1252 (Western European). If letters look wrong, save the file as UTF-8 and upload it again.")
	add(n.pastEndDropped > 0, "%s after the end of the video (%s) %s removed.",
		count(n.pastEndDropped, "cue that starts", "cues that start"), Clock(durationMS), were(n.pastEndDropped))
	add(n.pastEndShortened > 0, "%s past the end of the video %s shortened to end with it.",
		count(n.pastEndShortened, "cue that ran", "cues that ran"), were(n.pastEndShortened))
	add(n.badTimes > 0, "%s before or when %s %s removed.",
		count(n.badTimes, "cue that ends", "cues that end"), pick(n.badTimes, "it starts", "they start"), were(n.badTimes))
	add(n.joined > 0, "%s without a time range %s added to the cue before %s.",
		count(n.joined, "line", "lines"), were(n.joined), pick(n.joined, "it", "them"))
	add(n.empty > 0, "%s removed.", count(n.empty, "empty cue was", "empty cues were"))
	add(n.repeats > 0, "%s removed.", count(n.repeats, "repeated cue was", "repeated cues were"))
	add(n.unordered, "The cues were not in time order; they were sorted by start time.")
	add(n.overlaps > 0, "%s the cue before %s; %s kept, and players show overlapping cues together.",
		count(n.overlaps, "cue overlaps", "cues overlap"), pick(n.overlaps, "it", "them"), pick(n.overlaps, "it is", "they are"))
	add(n.markup > 0, "Formatting other than italic, bold and underline (such as colours, fonts, voices or positions) was removed from %s.",
		count(n.markup, "cue", "cues"))
	add(n.styles > 0, "The file's styles (STYLE blocks) were removed: the player styles captions itself.")
	add(n.regions > 0 || n.regionSettings > 0, "The file's regions were removed: cues placed in a region are shown in the usual place.")
	return w
}

// count writes n with the singular or plural noun.
func count(n int, one, many string) string {
	return strconv.Itoa(n) + " " + pick(n, one, many)
}

func pick(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func were(n int) string { return pick(n, "was", "were") }
