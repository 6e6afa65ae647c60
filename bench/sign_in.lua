-- wrk script: sign in as the seeded user on every request (argon2 verify each time).
wrk.method = "POST"
wrk.body = '{"email":"load@example.com","password":"load test password"}'
wrk.headers["Content-Type"] = "application/json"
