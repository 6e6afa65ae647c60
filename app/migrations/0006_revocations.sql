-- The revocation log (app/src/auth/revocations.rs): every session ended and every
-- change to an account that its older tokens must not outlive, written in the
-- transaction of the change. Each server process keeps the entries of the last token
-- lifetime in memory and reads the log past the last id it has seen, so verifying an
-- access token needs no query.
--
-- `session_id` names an ended session; without one, the entry refuses every token of
-- the user minted from the account as it was before `revoked_at` (the user's
-- `updated_at` as the change left it). `reason` is `session`, `disabled` or `changed`.
create table revocations (
    id bigint primary key,
    user_id text not null,
    session_id text,
    reason text not null,
    revoked_at text not null
);

create index revocations_revoked_at on revocations (revoked_at);

-- What a request asks of the log when its process is not current: has this user's
-- account changed since the token was minted?
create index revocations_user on revocations (user_id, revoked_at);

-- The last id given out, in its one row. Taking the next one updates the row, which
-- serialises the transactions that write the log: ids become visible in the order they
-- were given, so a reader that has seen id n has seen every id below it.
create table revocation_head (
    id integer primary key check (id = 1),
    last_id bigint not null
);

insert into revocation_head (id, last_id) values (1, 0);
