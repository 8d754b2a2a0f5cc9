-- +goose Up
-- Single sign-on over OpenID Connect (server/oidc.go): which account at
-- the school's identity provider (issuer, subject) is which Lectern
-- user. A user gets a row on their first single sign-on, when Lectern
-- creates them or links them to an existing account by a verified email
-- or the configured claim; from then on the subject alone finds them.
CREATE TABLE oidc_identities (
    issuer     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX oidc_identities_user_id_idx ON oidc_identities (user_id);

