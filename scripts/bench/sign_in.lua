-- wrk script: a sign-in on every request (an argon2 verify each time), taking the
-- seeded users storm-1@example.com … storm-$STORM_USERS@example.com in turn, as that
-- many different people signing in at once would. One account signed into 20 times at
-- once would instead meet the per-account limit on attempts in flight.
local users = tonumber(os.getenv("STORM_USERS") or "20")
local next_user = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
  next_user = next_user % users + 1
  local body = string.format(
    '{"email":"storm-%d@example.com","password":"storm test password"}', next_user)
  return wrk.format(nil, nil, nil, body)
end
