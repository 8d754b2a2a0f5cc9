-- +goose Up
-- An API token may expire: expires_at is when it stops working (NULL:
-- never). Revoking a token deletes its row.
ALTER TABLE api_tokens ADD COLUMN expires_at TIMESTAMP;
