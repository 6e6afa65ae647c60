-- The data of other people that `SCALE=1 scripts/bench-load.sh` adds before it measures
-- (portable: SQLite and PostgreSQL): 1,000 users with 1,000 tasks each, 1,000,000 live
-- sessions and 10,000,000 retired session tokens (ten refreshes per session).
insert into users (id, email, name, password_hash, created_at, updated_at)
with recursive n(i) as (select 1 union all select i + 1 from n where i < 1000)
select 'scale-user-' || i, 'scale-' || i || '@example.com', 'Scale ' || i, '',
       '2026-12-01T00:00:00.000000Z', '2026-12-01T00:00:00.000000Z' from n;

insert into tasks (id, user_id, title, created_at, updated_at)
with recursive n(i) as (select 1 union all select i + 1 from n where i < 1000000)
select 'scale-task-' || i, 'scale-user-' || (i % 1000 + 1), 'someone else''s task ' || i,
       '2026-12-01T00:00:00.000000Z', '2026-12-01T00:00:00.000000Z' from n;

insert into sessions (id, user_id, token_hash, expires_at, created_at, updated_at)
with recursive n(i) as (select 1 union all select i + 1 from n where i < 1000000)
select 'scale-session-' || i, 'scale-user-' || (i % 1000 + 1), 'scale-hash-' || i,
       '2999-01-01T00:00:00.000000Z', '2026-12-01T00:00:00.000000Z',
       '2026-12-01T00:00:00.000000Z' from n;

insert into retired_session_tokens (token_hash, session_id, retired_at)
with recursive n(i) as (select 1 union all select i + 1 from n where i < 10000000)
select 'scale-retired-' || i, 'scale-session-' || (i % 1000000 + 1),
       '2026-12-01T00:00:00.000000Z' from n;
