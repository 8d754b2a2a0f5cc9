package lectern

// EncodingProgress is how far the encoding of a lesson published while
// still processing has come (a long recording is encoded in chunks and
// published once its opening chunk and audio are stored; see docs/api.md,
// "Processing, playable"), counted in segments of its video.
type EncodingProgress struct {
	// ReadySegs is how many segments from the start are all stored: the
	// part that plays without waiting.
	ReadySegs int `db:"ready_segs"`
	// DoneSegs counts every stored segment, later ones included (a seek
	// moves a later chunk to the front).
	DoneSegs int `db:"done_segs"`
	// TotalSegs is the segments of the whole lesson.
	TotalSegs int `db:"total_segs"`
}

// Extent returns, for a lesson durationMS long, where the part stored
// from 0:00 ends and how long all stored parts are together, in ms. A
// segment counts as durationMS/TotalSegs, rounded down: no longer than a
// real one (only the last segment may be shorter than the rest), so that
// readyUntilMS never promises a moment that is not stored yet. All
// segments stored is the whole duration.
func (p EncodingProgress) Extent(durationMS int64) (readyUntilMS, encodedMS int64) {
	if p.TotalSegs <= 0 || durationMS <= 0 {
		return 0, 0
	}
	part := func(segs int) int64 {
		segs = min(max(segs, 0), p.TotalSegs)
		return durationMS * int64(segs) / int64(p.TotalSegs)
	}
	return part(p.ReadySegs), part(p.DoneSegs)
}
