-- The key pairs that sign asymmetric access tokens (JWT_ALGORITHM=EdDSA, ES256 or RS256),
-- kept here so that every server process signs with the same keys and publishes the
-- same JWKS. The private key is encrypted (ChaCha20-Poly1305, under a key derived from
-- the secret, the key id as associated data); the public key is the JWK as published.
create table signing_keys (
    id text primary key,
    algorithm text not null,
    public_jwk text not null,
    private_key text not null,
    created_at text not null,
    -- When a newer key took over; null for the current key.
    retired_at text,
    -- When a retired key leaves the JWKS: the last token it signed has expired by then,
    -- plus a grace period.
    published_until text
);

create index signing_keys_algorithm_created_at on signing_keys (algorithm, created_at);

-- One current key per algorithm: two processes making the first key, or rotating at
-- once, cannot both succeed.
create unique index signing_keys_one_current on signing_keys (algorithm) where retired_at is null;
