-- wrk script: create a task on every request, authenticated with the JWT in $WRITER_JWT
-- (a user of its own, so the reader's list keeps its 20 tasks).
wrk.method = "POST"
wrk.body = '{"title":"load test task","description":"made by wrk"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("WRITER_JWT")
