-- wrk script: create a task on every request, authenticated with the JWT in $JWT.
wrk.method = "POST"
wrk.body = '{"title":"load test task","description":"made by wrk"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("JWT")
