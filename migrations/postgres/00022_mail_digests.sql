-- +goose Up
-- When each teacher's daily digest of open questions was last queued
-- (server/mail_digest.go): a process queues one only by moving this
-- forward past the day's digest time, in the transaction that queues it,
-- so restarts and several API processes never send one twice a day.
CREATE TABLE mail_digests (
    user_id   TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    queued_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE mail_digests;
