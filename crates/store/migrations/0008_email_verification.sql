-- Email ownership. An address counts as its account's once the owner opened a signed link
-- sent to it (or Google vouched for it); until then Google sign-in does not link to it.
ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMPTZ;

-- A verification link works once: its id is recorded when it is used. Rows outlive their
-- link only until `expires_at`, after which the signature refuses the link anyway.
CREATE TABLE email_links_used (
    id         UUID PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    used_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL
);
