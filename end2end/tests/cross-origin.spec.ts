import { test as base, expect } from "@playwright/test";
import { createServer, type Server } from "node:http";
import { PASSWORD, accountFor, crossOriginFrontends } from "./helpers";

// A frontend served from another origin of the same site (the seed's :3000 frontend in
// front of its :8000 API), in a real browser with real CORS; every call to the API goes
// over the network to the test server. The frontend's one page comes from a small server
// of the test's own on that origin's port: a page Playwright fulfils itself has no address,
// and Chromium's local network access rules then refuse its requests to 127.0.0.1.

/** `openFrontend(origin)` serves an empty page on `origin` for the test, and opens it. */
const test = base.extend<{ openFrontend: (origin: string) => Promise<void> }>({
  openFrontend: async ({ page }, use) => {
    const servers: Server[] = [];
    await use(async (origin) => {
      const frontend = createServer((_, response) => {
        response.writeHead(200, { "content-type": "text/html" });
        response.end("<!doctype html><title>Frontend</title><h1>Frontend</h1>");
      });
      const { hostname, port } = new URL(origin);
      await new Promise<void>((resolve, reject) => {
        frontend.once("error", reject);
        frontend.listen(Number(port), hostname, resolve);
      });
      servers.push(frontend);
      await page.goto(`${origin}/`);
      await expect(page.getByRole("heading", { name: "Frontend" })).toBeVisible();
    });
    for (const frontend of servers) {
      frontend.closeAllConnections();
      await new Promise((resolve) => frontend.close(resolve));
    }
  },
});

test("a frontend on a listed origin signs in across origins and uses the tasks API", async ({ page, request, baseURL, openFrontend }) => {
  const { listed } = crossOriginFrontends(baseURL!);
  const email = await accountFor(request, "Other Origin");
  await openFrontend(listed);

  const signedIn = await page.evaluate(
    async ({ server, email, password }) => {
      const response = await fetch(`${server}/api/auth/sign-in/email`, {
        method: "POST",
        credentials: "include",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email, password }),
      });
      return { status: response.status, authToken: response.headers.get("set-auth-token"), body: await response.json() };
    },
    { server: baseURL!, email, password: PASSWORD },
  );
  expect(signedIn.status).toBe(200);
  expect(signedIn.body.user.email).toBe(email);
  // The signed session token, readable because the server exposes the header.
  expect(signedIn.authToken).toMatch(/^[^.]+\.[A-Za-z0-9+/]{43}=$/);
  expect(signedIn.authToken!.startsWith(`${signedIn.body.token}.`)).toBe(true);

  // With the cookies the sign-in left: a write, then a read.
  const withCookies = await page.evaluate(async (server) => {
    const created = await fetch(`${server}/api/tasks`, {
      method: "POST",
      credentials: "include",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ title: "Written from another origin" }),
    });
    const listed = await fetch(`${server}/api/tasks`, { credentials: "include" });
    return { created: created.status, listed: listed.status, titles: (await listed.json()).map((t: any) => t.title) };
  }, baseURL!);
  expect(withCookies).toEqual({ created: 201, listed: 200, titles: ["Written from another origin"] });

  // With a JWT: from /api/auth/token and from get-session's set-auth-jwt header.
  const withJwt = await page.evaluate(async (server) => {
    const token = await fetch(`${server}/api/auth/token`, { credentials: "include" });
    const jwt = (await token.json()).token as string;
    const session = await fetch(`${server}/api/auth/get-session`, { credentials: "include" });
    const headerJwt = session.headers.get("set-auth-jwt");
    const created = await fetch(`${server}/api/tasks`, {
      method: "POST",
      headers: { authorization: `Bearer ${jwt}`, "content-type": "application/json" },
      body: JSON.stringify({ title: "Written with a bearer JWT" }),
    });
    const listed = await fetch(`${server}/api/tasks`, { headers: { authorization: `Bearer ${headerJwt}` } });
    return {
      jwtParts: jwt.split(".").length,
      headerJwt: headerJwt !== null,
      created: created.status,
      titles: (await listed.json()).map((t: any) => t.title),
    };
  }, baseURL!);
  expect(withJwt).toEqual({
    jwtParts: 3,
    headerJwt: true,
    created: 201,
    titles: expect.arrayContaining(["Written from another origin", "Written with a bearer JWT"]),
  });
  expect(withJwt.titles).toHaveLength(2);
});

test("a page on an unlisted origin can neither read the API nor write with the person's cookies", async ({ page, baseURL, openFrontend }) => {
  const { unlisted } = crossOriginFrontends(baseURL!);
  // The person is signed in to the app in this browser: its cookies are in the context,
  // and the unlisted origin is same-site, so a browser would send them along.
  const signedIn = await page.request.post(`${baseURL}/api/auth/sign-up/email`, {
    data: { name: "Targeted", email: `e2e-csrf-${Date.now()}@example.com`, password: PASSWORD },
  });
  expect(signedIn.ok()).toBeTruthy();
  await openFrontend(unlisted);
  // The page cannot see the status of an opaque answer; the browser's network log can.
  const revokeAnswer = page.waitForResponse((r) => r.url().endsWith("/api/auth/revoke-sessions"));

  const attempts = await page.evaluate(async (server) => {
    const outcome = async (attempt: Promise<Response>) => {
      try {
        return `answered ${(await attempt).type}`;
      } catch (error) {
        return `rejected ${(error as Error).name}`;
      }
    };
    return {
      read: await outcome(fetch(`${server}/api/tasks`, { credentials: "include" })),
      session: await outcome(fetch(`${server}/api/auth/get-session`, { credentials: "include" })),
      jsonWrite: await outcome(fetch(`${server}/api/tasks`, {
        method: "POST",
        credentials: "include",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ title: "Planted by a JSON request" }),
      })),
      signIn: await outcome(fetch(`${server}/api/auth/sign-in/email`, {
        method: "POST",
        credentials: "include",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "someone@example.com", password: "whatever it is" }),
      })),
      // Requests a page may send without asking first (no preflight); the answer is opaque.
      simpleWrite: await outcome(fetch(`${server}/api/tasks`, {
        method: "POST",
        mode: "no-cors",
        credentials: "include",
        headers: { "content-type": "text/plain" },
        body: JSON.stringify({ title: "Planted by a simple request" }),
      })),
      simpleRevoke: await outcome(fetch(`${server}/api/auth/revoke-sessions`, {
        method: "POST",
        mode: "no-cors",
        credentials: "include",
        headers: { "content-type": "text/plain" },
        body: "{}",
      })),
    };
  }, baseURL!);
  expect(attempts).toEqual({
    read: "rejected TypeError",
    session: "rejected TypeError",
    jsonWrite: "rejected TypeError",
    signIn: "rejected TypeError",
    simpleWrite: "answered opaque",
    simpleRevoke: "answered opaque",
  });

  // The revoke reached the server with the session cookie (without it, the answer would be
  // 401) and was refused for its origin: from the app's own origin the same text/plain
  // request signs the person out everywhere.
  expect((await revokeAnswer).status()).toBe(403);

  // Nothing happened: the person's session is alive and has no tasks.
  const session = await page.request.get(`${baseURL}/api/auth/get-session`);
  expect(await session.json()).not.toBeNull();
  const tasks = await page.request.get(`${baseURL}/api/tasks`);
  expect(tasks.status()).toBe(200);
  expect(await tasks.json()).toEqual([]);

  // And the server said so in plain terms: no CORS headers for that origin.
  const answer = await page.request.get(`${baseURL}/api/tasks`, { headers: { origin: unlisted } });
  expect(answer.headers()["access-control-allow-origin"]).toBeUndefined();
  expect(answer.headers()["access-control-allow-credentials"]).toBeUndefined();
});
