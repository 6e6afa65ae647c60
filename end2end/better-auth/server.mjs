// A real Better Auth server (better-auth 1.7.25, pinned in ../package.json), for the Rust
// tests of accepting an existing Better Auth deployment's tokens (CONTRACT §1b,
// `JWT_JWKS_URL`). Nothing here is faked: it is `betterAuth()` with the memory adapter,
// email and password, and the `jwt()` and `bearer()` plugins, served by node:http.
//
// How the Rust test uses it:
//   1. It starts `node better-auth/server.mjs` as a child process from end2end/ (after
//      `npm ci` there), with BA_PORT (a free port) and BA_SECRET (at least 32 characters),
//      and waits for the line `listening` on stdout.
//   2. It signs up: POST http://127.0.0.1:$BA_PORT/api/auth/sign-up/email with JSON
//      {"name","email","password"} (password at least 8 characters). The answer's
//      `set-auth-token` header is the signed session token `token.<base64 HMAC>`.
//   3. It gets a JWT: GET /api/auth/token with `Authorization: Bearer <set-auth-token>`,
//      answered `{"token": "<EdDSA JWT>"}`. The header is {"alg":"EdDSA","kid":…} (no `typ`);
//      `iss` and `aud` are both `http://127.0.0.1:$BA_PORT`; the payload is the user
//      (`id`, `name`, `email`, `emailVerified`, `createdAt`, `updatedAt`) plus `sub`, `iat`,
//      `exp` (15 minutes). GET /api/auth/jwks publishes the public keys.
//   4. It points this project at it: JWT_JWKS_URL=http://127.0.0.1:$BA_PORT/api/auth/jwks,
//      issuer and audience http://127.0.0.1:$BA_PORT.
//   5. To test key rotation it POSTs /test/rotate-key (test-only, outside /api/auth): Better
//      Auth makes a new key, answered `{"kid": "<new kid>", "kids": [every kid]}`. Tokens
//      from then on carry the new kid; the old key stays in /api/auth/jwks (its grace
//      period is 30 days), so old tokens still verify.
//   6. It kills the child when done. All data lives in memory and goes with the process.
//
// Origin checks: Better Auth checks Origin only on POSTs that carry a Cookie header, and
// on sign-in/sign-up only when a Sec-Fetch-* header is present. reqwest sends neither a
// Cookie (unless its cookie store is on) nor Sec-Fetch-* headers, so no Origin header is
// needed. A client that does send one of them (Node's fetch always sends
// `sec-fetch-mode: cors`; a reqwest client with a cookie store sends cookies) must send
// `Origin: http://127.0.0.1:$BA_PORT`, or Better Auth answers 403 MISSING_OR_NULL_ORIGIN.
// Rate limiting is off (Better Auth turns it on only under NODE_ENV=production, where
// sign-in and sign-up allow 3 requests per 10 s).

import http from "node:http";
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { bearer, createJwk, jwt } from "better-auth/plugins";
import { toNodeHandler } from "better-auth/node";

const port = Number(process.env.BA_PORT);
const secret = process.env.BA_SECRET;
if (!Number.isInteger(port) || port <= 0) {
  console.error("BA_PORT must be the port to listen on");
  process.exit(2);
}
if (!secret || secret.length < 32) {
  console.error("BA_SECRET must be at least 32 characters");
  process.exit(2);
}

const baseURL = `http://127.0.0.1:${port}`;
const db = { user: [], session: [], account: [], verification: [], jwks: [] };
// BA_JWT_EXPIRATION_TIME (Better Auth's `jwt.expirationTime`, default "15m") lets a test
// have tokens that expire while it watches.
const jwtOptions = { jwt: { expirationTime: process.env.BA_JWT_EXPIRATION_TIME ?? "15m" } };

const auth = betterAuth({
  baseURL,
  secret,
  database: memoryAdapter(db),
  emailAndPassword: { enabled: true },
  rateLimit: { enabled: false },
  telemetry: { enabled: false },
  plugins: [jwt(jwtOptions), bearer()],
});

/** Makes Better Auth create a new signing key, newer than every key it has. */
async function rotateKey() {
  const newest = Math.max(0, ...db.jwks.map((key) => new Date(key.createdAt).getTime()));
  // Better Auth signs with the key created last; make sure the new one is strictly later.
  while (Date.now() <= newest) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  const key = await createJwk({ context: await auth.$context }, jwtOptions);
  return { kid: key.id, kids: db.jwks.map((k) => k.id) };
}

const handler = toNodeHandler(auth);
const server = http.createServer((req, res) => {
  if (req.url.startsWith("/api/auth/") || req.url === "/api/auth") {
    return handler(req, res);
  }
  if (req.method === "POST" && req.url === "/test/rotate-key") {
    rotateKey().then(
      (body) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      },
      (error) => {
        console.error(error);
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ message: String(error) }));
      },
    );
    return;
  }
  res.writeHead(404, { "content-type": "application/json" });
  res.end(JSON.stringify({ message: "Not found" }));
});

server.listen(port, "127.0.0.1", () => {
  console.log(`listening ${baseURL}`);
});

// Everything is in memory: nothing to flush, so stop at once, open connections or not.
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => process.exit(0));
}
