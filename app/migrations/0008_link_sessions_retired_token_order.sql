-- The session that asked for each emailed link, or null for one asked for while signed
-- out (a reset, a verification link from the sign-in page). Revoking a session cancels
-- the links it asked for (a change of address a thief asked for must not stay pending)
-- and no others: a reset the owner asked for while signed out is not cancelled by
-- whoever holds a session, and nothing is cancelled when no session ended.
alter table email_tokens add column session_id text;

-- A session keeps only its newest retired tokens (`RETIRED_TOKENS_KEPT` in
-- app/src/auth/repo.rs): each refresh looks for its session's oldest one kept. By
-- session and time, that is a walk along this index rather than a sort of every row the
-- session has. The index by session alone is this one's first column: it goes.
create index retired_session_tokens_session_retired_at
    on retired_session_tokens (session_id, retired_at);
drop index retired_session_tokens_session_id;
