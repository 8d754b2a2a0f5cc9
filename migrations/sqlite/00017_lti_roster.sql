-- +goose Up
-- Names and Role Provisioning: Lectern reads each linked LMS course's
-- roster (server/lti_roster.go), when a teacher asks and periodically.
-- sync_attempted_at is the last read tried, sync_error why it failed
-- ('' when it worked), synced_members how many active members the last
-- successful read found; synced_at (00012) is when it succeeded.
ALTER TABLE lti_contexts ADD COLUMN sync_attempted_at TIMESTAMP;
ALTER TABLE lti_contexts ADD COLUMN sync_error TEXT NOT NULL DEFAULT '';
ALTER TABLE lti_contexts ADD COLUMN synced_members INTEGER NOT NULL DEFAULT 0;
CREATE INDEX lti_contexts_sync_idx ON lti_contexts (sync_attempted_at);
