-- Portable schema: only text and integer columns, so the same statements run on
-- SQLite and PostgreSQL through sqlx's Any driver. Times are fixed-width RFC 3339 UTC
-- text (they sort correctly as text); flags are 0/1 integers.

create table users (
    id text primary key,
    email text not null unique,
    name text not null,
    password_hash text not null,
    email_verified integer not null default 0,
    image text,
    created_at text not null,
    updated_at text not null
);

-- Only a SHA-256 hash of the opaque session token is stored: a leaked table cannot be
-- replayed as sessions.
create table sessions (
    id text primary key,
    user_id text not null references users (id) on delete cascade,
    token_hash text not null unique,
    expires_at text not null,
    created_at text not null,
    updated_at text not null,
    ip_address text,
    user_agent text
);

create index sessions_user_id on sessions (user_id);

create table tasks (
    id text primary key,
    user_id text not null references users (id) on delete cascade,
    title text not null,
    description text,
    completed integer not null default 0,
    created_at text not null,
    updated_at text not null
);

-- Every task query is scoped by owner and ordered by creation.
create index tasks_user_id_created_at on tasks (user_id, created_at);
