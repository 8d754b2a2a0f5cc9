package lectern

// SearchKind says what part of a lesson a search hit was found in.
type SearchKind string

// Kinds of search hits: a lesson's title or description, a chapter title,
// a caption cue, or an anchored entry (comment, question or note; replies
// are comments).
const (
	SearchTitle       SearchKind = "title"
	SearchDescription SearchKind = "description"
	SearchChapter     SearchKind = "chapter"
	SearchCaption     SearchKind = "caption"
	SearchComment     SearchKind = "comment"
	SearchQuestion    SearchKind = "question"
	SearchNote        SearchKind = "note"
)

// MaxSearchQuery is the longest search query, in characters (runes).
const MaxSearchQuery = 200

// SnippetPart is a piece of a search hit's snippet: plain text (never
// HTML), and whether it is a word the search matched.
type SnippetPart struct {
	Text  string `json:"text"`
	Match bool   `json:"match"`
}

// SearchHit is one place in a lesson where a search matched: what matched
// (Kind), the moment it belongs to (AtMS: a cue's start, a chapter's
// start, an entry's anchor; 0 for a title or description), and a short
// snippet of the matched text. Lang is the caption track's language tag
// for a caption hit, "" otherwise.
type SearchHit struct {
	LessonID    string        `json:"lesson_id"`
	LessonTitle string        `json:"lesson_title"`
	CourseID    string        `json:"course_id"`
	CourseTitle string        `json:"course_title"`
	Kind        SearchKind    `json:"kind"`
	AtMS        int64         `json:"at_ms"`
	Lang        string        `json:"lang,omitempty"`
	Snippet     []SnippetPart `json:"snippet"`
}
