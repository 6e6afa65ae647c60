-- Second factors (Better Auth's `twoFactor` plugin, on its wire; app/src/auth/service/two_factor.rs).
--
-- `users.two_factor_enabled` is Better Auth's `twoFactorEnabled`: 1 once a first code
-- from the authenticator app was accepted. Every sign-in of such a user then waits for a
-- second factor before any session exists.
alter table users add column two_factor_enabled integer not null default 0;

-- An account's authenticator app. The TOTP secret is sealed (ChaCha20-Poly1305 under a
-- key derived from the server's secret, bound to the user's id), as signing keys are:
-- a copy of the table alone yields no codes. `last_step` is the newest 30-second time
-- step whose code was accepted: a code is accepted once, and never one older than it
-- (Better Auth accepts a code again and again inside its window).
create table two_factors (
    user_id text primary key references users (id) on delete cascade,
    secret text not null,
    verified integer not null default 0,
    last_step bigint not null default 0,
    created_at text not null
);

-- Backup codes: only a keyed hash (HMAC-SHA256 under a key derived from the server's
-- secret, over the user's id and the code) is stored; using one deletes it.
create table backup_codes (
    code_hash text primary key,
    user_id text not null references users (id) on delete cascade,
    created_at text not null
);

create index backup_codes_user_id on backup_codes (user_id);

-- A sign-in waiting for its second factor, named by the `two_factor` cookie (only its
-- hash is stored). Each code tried takes one of its `attempts` first, in one statement,
-- up to a limit; it ends after ten minutes or once used. `password_hash` is the hash
-- the typed password matched: the session it starts must still find it the user's.
-- `counted_as` is whom the password attempt counted against (the client's address, or
-- a browser that signed in to the account before): wrong codes count against it too.
create table two_factor_challenges (
    token_hash text primary key,
    user_id text not null references users (id) on delete cascade,
    attempts integer not null default 0,
    password_hash text not null,
    counted_as text,
    expires_at text not null,
    created_at text not null
);

create index two_factor_challenges_expires_at on two_factor_challenges (expires_at);

-- Browsers a person chose to trust after a second factor: Better Auth's `trust_device`
-- cookie names one (only its hash is stored). For 30 days a sign-in from it needs the
-- password alone. The account page lists them; a password reset, a password change or
-- turning second factors off ends them all.
create table trusted_devices (
    id text primary key,
    token_hash text not null unique,
    user_id text not null references users (id) on delete cascade,
    user_agent text,
    ip_address text,
    created_at text not null,
    expires_at text not null
);

create index trusted_devices_user_id on trusted_devices (user_id);
create index trusted_devices_expires_at on trusted_devices (expires_at);

-- How a session's person signed in, as RFC 8176 `amr` values separated by spaces:
-- `pwd`, then `otp` or `mfa` once a second factor was given. Access tokens carry it.
alter table sessions add column amr text not null default 'pwd';
