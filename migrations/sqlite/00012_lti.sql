-- +goose Up
-- LTI 1.3: Lectern as a tool inside schools' LMSs (lti package, server/lti_*.go).
--
-- lti_platforms are the LMSs an admin registered: the issuer and client id
-- the platform gave Lectern, the platform's endpoints, and what an LMS
-- administrator becomes in Lectern. lti_deployments are the deployment ids
-- accepted from each.
CREATE TABLE lti_platforms (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL DEFAULT '',
    issuer         TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    auth_login_url TEXT NOT NULL,
    token_url      TEXT NOT NULL,
    jwks_url       TEXT NOT NULL,
    admin_role     TEXT NOT NULL DEFAULT 'teacher' CHECK (admin_role IN ('admin', 'teacher', 'student')),
    created_at     TIMESTAMP NOT NULL,
    UNIQUE (issuer, client_id)
);

CREATE TABLE lti_deployments (
    platform_id   TEXT NOT NULL REFERENCES lti_platforms (id) ON DELETE CASCADE,
    deployment_id TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (platform_id, deployment_id)
);

-- Lectern's own signing keys, newest current, the private half sealed
-- with a key derived from LECTERN_SECRET. A retired key stays published
-- in the JWKS for a while (lti.KeyGrace) after retired_at.
CREATE TABLE lti_keys (
    id             TEXT PRIMARY KEY,
    sealed_private TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    retired_at     TIMESTAMP
);

-- OIDC logins under way: the state (hashed) and the nonce Lectern sent
-- to the platform, consumed by the launch that comes back (single use).
CREATE TABLE lti_logins (
    state_hash     TEXT PRIMARY KEY,
    platform_id    TEXT NOT NULL REFERENCES lti_platforms (id) ON DELETE CASCADE,
    nonce          TEXT NOT NULL,
    params         TEXT NOT NULL DEFAULT '',
    storage_target TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL,
    expires_at     TIMESTAMP NOT NULL
);
CREATE INDEX lti_logins_expires_at_idx ON lti_logins (expires_at);

-- People known by an LMS: users are matched by (issuer, sub).
CREATE TABLE lti_users (
    issuer     TEXT NOT NULL,
    sub        TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (issuer, sub)
);
CREATE INDEX lti_users_user_id_idx ON lti_users (user_id);

-- LMS courses (contexts) linked to Lectern courses, with the context's
-- roster (NRPS) and line items (AGS) URLs from the latest launch.
CREATE TABLE lti_contexts (
    platform_id     TEXT NOT NULL REFERENCES lti_platforms (id) ON DELETE CASCADE,
    context_id      TEXT NOT NULL,
    course_id       TEXT NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    title           TEXT NOT NULL DEFAULT '',
    memberships_url TEXT NOT NULL DEFAULT '',
    lineitems_url   TEXT NOT NULL DEFAULT '',
    synced_at       TIMESTAMP,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (platform_id, context_id)
);
CREATE INDEX lti_contexts_course_id_idx ON lti_contexts (course_id);

-- Resource links placed in LMS courses, the lesson each opens and the
-- line item (gradebook column) scores go to.
CREATE TABLE lti_links (
    id               TEXT PRIMARY KEY,
    platform_id      TEXT NOT NULL REFERENCES lti_platforms (id) ON DELETE CASCADE,
    resource_link_id TEXT NOT NULL,
    course_id        TEXT NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    lesson_id        TEXT REFERENCES lessons (id) ON DELETE CASCADE,
    lineitem_url     TEXT NOT NULL DEFAULT '',
    title            TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    UNIQUE (platform_id, resource_link_id)
);
CREATE INDEX lti_links_lesson_id_idx ON lti_links (lesson_id);

-- Deep linking requests a teacher is answering.
CREATE TABLE lti_deep_links (
    id          TEXT PRIMARY KEY,
    platform_id TEXT NOT NULL REFERENCES lti_platforms (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    course_id   TEXT NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    request     TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL
);

-- The latest launches per platform, refused ones with the reason, for
-- the admin page.
CREATE TABLE lti_launches (
    id               TEXT PRIMARY KEY,
    platform_id      TEXT NOT NULL REFERENCES lti_platforms (id) ON DELETE CASCADE,
    at               TIMESTAMP NOT NULL,
    sub              TEXT NOT NULL DEFAULT '',
    user_id          TEXT REFERENCES users (id) ON DELETE SET NULL,
    message_type     TEXT NOT NULL DEFAULT '',
    context_id       TEXT NOT NULL DEFAULT '',
    resource_link_id TEXT NOT NULL DEFAULT '',
    outcome          TEXT NOT NULL,
    detail           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX lti_launches_platform_at_idx ON lti_launches (platform_id, at);

-- Scores waiting to be posted to line items (AGS): one row per link and
-- student, holding the coverage to send (covered_secs) and the coverage
-- last sent (sent_secs, -1 for none). A row is due while the two differ
-- and next_attempt_at has passed; lease_until keeps two senders from
-- posting it at once; a failed post backs off (attempts, last_error).
CREATE TABLE lti_scores (
    link_id         TEXT NOT NULL REFERENCES lti_links (id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    covered_secs    INTEGER NOT NULL,
    changed_at      TIMESTAMP NOT NULL,
    sent_secs       INTEGER NOT NULL DEFAULT -1,
    sent_at         TIMESTAMP,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until     TIMESTAMP,
    last_error      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (link_id, user_id)
);
CREATE INDEX lti_scores_due_idx ON lti_scores (next_attempt_at) WHERE covered_secs <> sent_secs;

-- A student's progress queues a score in the same transaction that
-- records it, for every graded link of the lesson on a platform that
-- knows the student: when the lesson becomes completed (the course's
-- threshold crossed) and whenever coverage grows after that. Durable by
-- construction: no heartbeat commits without its score queued.
-- +goose StatementBegin
CREATE TRIGGER lesson_progress_lti_score_ai AFTER INSERT ON lesson_progress
WHEN new.completed_at IS NOT NULL BEGIN
    INSERT INTO lti_scores (link_id, user_id, covered_secs, changed_at, next_attempt_at)
        SELECT k.id, new.user_id, new.covered_secs, new.updated_at, new.updated_at
        FROM lti_links k
        JOIN lti_platforms p ON p.id = k.platform_id
        JOIN lti_users u ON u.issuer = p.issuer AND u.user_id = new.user_id
        WHERE k.lesson_id = new.lesson_id AND k.lineitem_url <> ''
    ON CONFLICT (link_id, user_id) DO UPDATE SET
        covered_secs = excluded.covered_secs, changed_at = excluded.changed_at;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER lesson_progress_lti_score_au AFTER UPDATE OF covered_secs, completed_at ON lesson_progress
WHEN new.completed_at IS NOT NULL AND (old.completed_at IS NULL OR new.covered_secs <> old.covered_secs) BEGIN
    INSERT INTO lti_scores (link_id, user_id, covered_secs, changed_at, next_attempt_at)
        SELECT k.id, new.user_id, new.covered_secs, new.updated_at, new.updated_at
        FROM lti_links k
        JOIN lti_platforms p ON p.id = k.platform_id
        JOIN lti_users u ON u.issuer = p.issuer AND u.user_id = new.user_id
        WHERE k.lesson_id = new.lesson_id AND k.lineitem_url <> ''
    ON CONFLICT (link_id, user_id) DO UPDATE SET
        covered_secs = excluded.covered_secs, changed_at = excluded.changed_at;
END;
-- +goose StatementEnd
