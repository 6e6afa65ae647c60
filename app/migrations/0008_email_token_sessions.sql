-- The session that asked for each emailed link, or null for one asked for while signed
-- out (a reset, a verification link from the sign-in page). Revoking a session cancels
-- the links it asked for (a change of address a thief asked for must not stay pending)
-- and no others: a reset the owner asked for while signed out is not cancelled by
-- whoever holds a session, and nothing is cancelled when no session ended.
alter table email_tokens add column session_id text;
