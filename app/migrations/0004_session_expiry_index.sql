-- The janitor deletes sessions by their expiry (app/src/janitor.rs): an index, so that
-- each of its batches finds them without reading the whole table.
create index sessions_expires_at on sessions (expires_at);
