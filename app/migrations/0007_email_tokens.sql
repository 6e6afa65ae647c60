-- The links emails carry: a password reset, the verification of an account's address,
-- and a change of address. Only a SHA-256 hash of each token is stored (a leaked table
-- opens nothing), each is for one purpose and one account, and using one deletes it.
-- `email` is the address the link was sent to: the one to verify or to move to. An
-- account has at most one link of each purpose: a newer one replaces it.
create table email_tokens (
    token_hash text primary key,
    purpose text not null,
    user_id text not null references users (id) on delete cascade,
    email text not null,
    expires_at text not null,
    created_at text not null
);

create unique index email_tokens_user_purpose on email_tokens (user_id, purpose);
create index email_tokens_expires_at on email_tokens (expires_at);
