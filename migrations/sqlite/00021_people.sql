-- +goose Up
-- People (issue 15): teaching assistants, account deactivation and
-- course invitations by email.
--
-- A course member may be a teaching assistant ('ta'): they answer
-- questions and see analytics and the question inbox, but do not upload,
-- edit or delete anything, nor manage members. SQLite cannot change a
-- CHECK constraint, so the table is rebuilt (nothing references it).
CREATE TABLE course_members_new (
    course_id TEXT NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role      TEXT NOT NULL CHECK (role IN ('teacher', 'ta', 'student')),
    joined_at TIMESTAMP NOT NULL,
    PRIMARY KEY (course_id, user_id)
);
INSERT INTO course_members_new (course_id, user_id, role, joined_at)
    SELECT course_id, user_id, role, joined_at FROM course_members;
DROP TABLE course_members;
ALTER TABLE course_members_new RENAME TO course_members;
CREATE INDEX course_members_user_id_idx ON course_members (user_id);

-- An admin deactivates an account: its sessions and API tokens are
-- deleted and it cannot log in until reactivated; everything it owns
-- stays. NULL for an active account.
ALTER TABLE users ADD COLUMN deactivated_at TIMESTAMP;

-- Invitations to a course sent to an address that has no account yet.
-- Only a hash of the link's token is stored; used_at marks it spent.
-- Accepting one creates the account (name and password chosen there)
-- and makes it a member with the role given.
CREATE TABLE course_invitations (
    token_hash TEXT PRIMARY KEY,
    course_id  TEXT NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('teacher', 'ta', 'student')),
    invited_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP
);
CREATE INDEX course_invitations_course_id_idx ON course_invitations (course_id, email);
