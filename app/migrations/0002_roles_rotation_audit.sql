-- Roles and disabled accounts, with the column names of Better Auth's admin plugin.
alter table users add column role text not null default 'user';
alter table users add column banned integer not null default 0;
alter table users add column ban_reason text;

-- Session tokens rotate on every refresh. The tokens a session had before are kept,
-- hashed like the live one, so that one presented again is recognised as stolen and
-- revokes its session (reuse detection).
create table retired_session_tokens (
    token_hash text primary key,
    session_id text not null references sessions (id) on delete cascade,
    retired_at text not null
);

create index retired_session_tokens_session_id on retired_session_tokens (session_id);

-- The token a session had before the current one, and whether the current one has been
-- presented since it was issued: when it has not, the answer that carried it may never
-- have arrived, and the previous token may ask again without being taken for a thief.
alter table sessions add column previous_token_hash text;
alter table sessions add column token_unseen integer not null default 0;

-- Every authentication event. No foreign keys: events outlive what they mention.
create table audit_events (
    id text primary key,
    at text not null,
    event text not null,
    outcome text not null,
    user_id text,
    email text,
    ip_address text,
    user_agent text,
    detail text
);

create index audit_events_at on audit_events (at);
create index audit_events_user_id_at on audit_events (user_id, at);
