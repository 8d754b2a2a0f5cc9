-- +goose Up
-- Outgoing mail, password resets, email changes, session listing and
-- mail preferences (server/mail*.go, server/account*.go).
--
-- mail_outbox holds what is to be sent, queued in or right after the
-- request that causes it and sent by the server's mail sender with
-- retries (server/mail.go). A row says what to send (kind, payload), not
-- the finished message: messages that carry a one-time link are made at
-- the moment of sending, so that no usable link is stored. A row is
-- deleted once sent, or when it is past expires_at.
CREATE TABLE mail_outbox (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    user_id         TEXT REFERENCES users (id) ON DELETE CASCADE,
    to_addr         TEXT NOT NULL,
    payload         TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    lease_until     TIMESTAMPTZ
);
CREATE INDEX mail_outbox_next_attempt_at_idx ON mail_outbox (next_attempt_at);

-- One-time links sent by mail: password resets and confirmations of a
-- new email address (email holds the new address). Only a hash of the
-- token is stored; used_at marks a link spent.
CREATE TABLE user_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL CHECK (purpose IN ('password_reset', 'email_change')),
    email      TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX user_tokens_user_id_idx ON user_tokens (user_id, purpose, created_at);

-- Sessions get an id that can be shown and named (the token hash is the
-- credential's fingerprint and stays private), the browser that made
-- them, and when they were last seen (recorded at most every few
-- minutes).
ALTER TABLE sessions ADD COLUMN id TEXT;
UPDATE sessions SET id = md5(random()::text || token_hash);
CREATE UNIQUE INDEX sessions_id_idx ON sessions (id);
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN last_seen_at TIMESTAMPTZ;

-- Kinds of mail a user has turned off; a missing row means the mail is
-- sent. Mail a user needs to act on their account (password reset,
-- address confirmation) cannot be turned off.
CREATE TABLE mail_opt_outs (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, kind)
);
