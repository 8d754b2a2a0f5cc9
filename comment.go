package lectern

import "time"

// CommentKind says what an anchored entry is for.
type CommentKind string

// Kinds of anchored entries. Replies are always comments.
const (
	KindComment  CommentKind = "comment"
	KindQuestion CommentKind = "question"
	KindNote     CommentKind = "note"
)

// Valid reports whether k is one of the known kinds.
func (k CommentKind) Valid() bool {
	switch k {
	case KindComment, KindQuestion, KindNote:
		return true
	}
	return false
}

// Visibility says who may see an anchored entry, besides its author.
type Visibility string

// Visibilities. Class is every member of the course; teachers is the
// author and the course's teachers (and admins); private is the author
// alone: not the course's teachers, and not admins either.
const (
	VisibilityClass    Visibility = "class"
	VisibilityTeachers Visibility = "teachers"
	VisibilityPrivate  Visibility = "private"
)

// Valid reports whether v is one of the known visibilities.
func (v Visibility) Valid() bool {
	switch v {
	case VisibilityClass, VisibilityTeachers, VisibilityPrivate:
		return true
	}
	return false
}

// QuestionStatus is where a question is in its lifecycle. Entries that are
// not questions have no status ("").
type QuestionStatus string

// Question statuses. A question starts open, becomes answered when a
// course teacher replies (or marks it so), resolved when the asker or a
// teacher says so, and open again when reopened.
const (
	QuestionOpen     QuestionStatus = "open"
	QuestionAnswered QuestionStatus = "answered"
	QuestionResolved QuestionStatus = "resolved"
)

// Valid reports whether s is one of the known statuses.
func (s QuestionStatus) Valid() bool {
	switch s {
	case QuestionOpen, QuestionAnswered, QuestionResolved:
		return true
	}
	return false
}

// MaxCommentBody is the longest body of an anchored entry, in characters
// (runes).
const MaxCommentBody = 5000

// AuthorRoleAdmin is Comment.AuthorRole for an admin who is not a member
// of the course.
const AuthorRoleAdmin = "admin"

// Comment is an entry anchored to a moment (or a span) of a lesson: a
// comment, a question or a note, or a reply to one. A reply has ParentID
// set and shares its thread's anchor and visibility. Body is plain text,
// never HTML. A deleted entry keeps its place (its replies stay) with an
// empty Body and Deleted set.
type Comment struct {
	ID       string `json:"id" db:"id"`
	LessonID string `json:"lesson_id" db:"lesson_id"`
	CourseID string `json:"course_id" db:"course_id"`
	// ParentID is the thread's first entry for a reply, "" otherwise.
	ParentID string `json:"parent_id,omitempty" db:"parent_id"`
	AuthorID string `json:"author_id" db:"author_id"`
	// AuthorName and AuthorRole are filled by queries: the role is the
	// author's role in the course ("teacher", "student"), AuthorRoleAdmin
	// for an admin who is not a member, or "" for a former member.
	AuthorName string      `json:"author_name" db:"author_name"`
	AuthorRole string      `json:"author_role" db:"author_role"`
	Kind       CommentKind `json:"kind" db:"kind"`
	Visibility Visibility  `json:"visibility" db:"visibility"`
	// AtMS is the anchor in the lesson, in milliseconds; EndMS, when set,
	// ends a span (AtMS ≤ EndMS ≤ the lesson's duration).
	AtMS  int64  `json:"at_ms" db:"at_ms"`
	EndMS *int64 `json:"end_ms" db:"end_ms"`
	Body  string `json:"body" db:"body"`
	// Status is set for questions only.
	Status          QuestionStatus `json:"status,omitempty" db:"status"`
	StatusChangedBy string         `json:"status_changed_by,omitempty" db:"status_changed_by"`
	StatusChangedAt *time.Time     `json:"status_changed_at,omitempty" db:"status_changed_at"`
	// AcceptedID is the reply a teacher accepted as the answer to a
	// question, with who accepted it and when.
	AcceptedID string     `json:"accepted_id,omitempty" db:"accepted_id"`
	AcceptedBy string     `json:"accepted_by,omitempty" db:"accepted_by"`
	AcceptedAt *time.Time `json:"accepted_at,omitempty" db:"accepted_at"`
	// ReplyCount counts the replies that are not deleted.
	ReplyCount int        `json:"reply_count" db:"reply_count"`
	Deleted    bool       `json:"deleted" db:"deleted"`
	CreatedAt  time.Time  `json:"created_at" db:"created_at"`
	EditedAt   *time.Time `json:"edited_at" db:"edited_at"`
}

// CommentFilter selects the first entries of threads in a lesson. Nil
// fields match everything. An entry matches the window when its anchor or
// span overlaps [FromMS, ToMS]. After is the opaque cursor of the previous
// page ("" for the first); Limit ≤ 0 means the default page size.
type CommentFilter struct {
	FromMS *int64
	ToMS   *int64
	Kind   *CommentKind
	Status *QuestionStatus
	After  string
	Limit  int
}

// CommentUpdate holds the changes to an entry; nil means unchanged. Body is
// the author's to change; Status and AcceptedID apply to questions
// (AcceptedID "" withdraws the accepted answer).
type CommentUpdate struct {
	Body       *string
	Status     *QuestionStatus
	AcceptedID *string
}

// Marker counts the visible first entries of threads of one kind and
// status whose anchor falls in the bucket [StartMS, StartMS+bucket).
type Marker struct {
	StartMS int64          `json:"start_ms" db:"start_ms"`
	Kind    CommentKind    `json:"kind" db:"kind"`
	Status  QuestionStatus `json:"status,omitempty" db:"status"`
	Count   int            `json:"count" db:"count"`
}

// InboxFilter selects questions for a teacher's inbox. An empty Status
// means open. After and Limit page as in CommentFilter.
type InboxFilter struct {
	Status QuestionStatus
	After  string
	Limit  int
}

// InboxQuestion is a question in a teacher's inbox, with where it was asked.
type InboxQuestion struct {
	Comment
	CourseTitle string `json:"course_title" db:"course_title"`
	LessonTitle string `json:"lesson_title" db:"lesson_title"`
}

// LessonQuestionCount is the number of open (unanswered) questions in one
// lesson.
type LessonQuestionCount struct {
	CourseID    string `json:"course_id" db:"course_id"`
	CourseTitle string `json:"course_title" db:"course_title"`
	LessonID    string `json:"lesson_id" db:"lesson_id"`
	LessonTitle string `json:"lesson_title" db:"lesson_title"`
	Unanswered  int    `json:"unanswered" db:"unanswered"`
}

// Inbox is a page of a teacher's questions, oldest first, with the open
// questions counted per lesson. Next is the cursor of the following page,
// "" on the last.
type Inbox struct {
	Questions []*InboxQuestion      `json:"questions"`
	Lessons   []LessonQuestionCount `json:"lessons"`
	Next      string                `json:"next_cursor"`
}

// InboxCounts is what the navigation shows someone: whether they teach a
// course (and so have a question inbox), how many open questions wait in
// it, and how many answers to their own questions they have not read.
type InboxCounts struct {
	Teaches       bool `json:"teaches"`
	OpenQuestions int  `json:"open_questions"`
	UnreadAnswers int  `json:"unread_answers"`
}

// Notification tells the asker of a question that a teacher answered it.
// There is one per question, moved forward (and unread again) by each new
// answer.
type Notification struct {
	ID          string     `json:"id" db:"id"`
	QuestionID  string     `json:"question_id" db:"question_id"`
	CourseID    string     `json:"course_id" db:"course_id"`
	CourseTitle string     `json:"course_title" db:"course_title"`
	LessonID    string     `json:"lesson_id" db:"lesson_id"`
	LessonTitle string     `json:"lesson_title" db:"lesson_title"`
	AtMS        int64      `json:"at_ms" db:"at_ms"`
	Question    string     `json:"question" db:"question"`
	AnswerID    string     `json:"answer_id" db:"answer_id"`
	Answer      string     `json:"answer" db:"answer"`
	AnsweredBy  string     `json:"answered_by" db:"answered_by"`
	AnsweredAt  time.Time  `json:"answered_at" db:"answered_at"`
	ReadAt      *time.Time `json:"read_at" db:"read_at"`
}
