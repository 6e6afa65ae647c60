"""The propagation measurement of scripts/bench-propagation.sh: first, second, count."""

import http.client
import json
import random
import statistics
import sys
import time
from urllib.parse import urlparse

PASSWORD = "propagation benchmark password"


class Server:
    """One keep-alive connection to a server."""

    def __init__(self, base):
        url = urlparse(base)
        self.connection = http.client.HTTPConnection(url.hostname, url.port)

    def call(self, method, path, token=None, body=None):
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        payload = json.dumps(body) if body is not None else None
        self.connection.request(method, path, body=payload, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        return response.status, (json.loads(data) if data else None)


def main():
    first, second, count = Server(sys.argv[1]), Server(sys.argv[2]), int(sys.argv[3])
    status, _ = first.call(
        "POST",
        "/api/auth/sign-up/email",
        body={"name": "Bench", "email": "propagation@example.com", "password": PASSWORD},
    )
    assert status == 200, status
    waits, asked = [], []
    for _ in range(count):
        status, signed_in = first.call(
            "POST",
            "/api/auth/sign-in/email",
            body={"email": "propagation@example.com", "password": PASSWORD},
        )
        assert status == 200, status
        session = signed_in["token"]
        _, issued = first.call("GET", "/api/auth/token", token=session)
        jwt = issued["token"]
        status, refusal = second.call("GET", "/api/tasks", token=jwt)
        assert status == 200, f"the second server refused a live token: {status} {refusal}"
        # At a random moment of the other server's poll, not in step with it.
        time.sleep(random.random() * 0.1)
        status, _ = first.call("POST", "/api/auth/sign-out", token=session, body={})
        assert status == 200, status
        answered = time.perf_counter()
        tries = 0
        while True:
            tries += 1
            status, _ = second.call("GET", "/api/tasks", token=jwt)
            if status == 401:
                break
            assert status == 200, status
            assert time.perf_counter() - answered < 10, "not refused within 10 s"
        waits.append((time.perf_counter() - answered) * 1000)
        asked.append(tries)
    waits.sort()

    def percentile(p):
        return waits[min(len(waits) - 1, int(len(waits) * p / 100))]

    print(f"revocations: {len(waits)}")
    print(
        "time until the other server refuses (ms): "
        f"min {waits[0]:.1f}  p50 {percentile(50):.1f}  p90 {percentile(90):.1f}  "
        f"p99 {percentile(99):.1f}  max {waits[-1]:.1f}  mean {statistics.mean(waits):.1f}"
    )
    print(f"requests until refused: median {statistics.median(asked):.0f}, most {max(asked)}")
    buckets = [1, 5, 10, 25, 50, 100, 150, 200]
    print("distribution:")
    low = 0
    for high in buckets + [float("inf")]:
        n = sum(1 for w in waits if low <= w < high)
        label = f"< {high} ms" if high != float("inf") else f">= {low} ms"
        print(f"  {label:>10}: {n:4d} {'#' * (60 * n // len(waits))}")
        low = high


main()
