import { expect, test } from "@playwright/test";
import { createAuthClient } from "better-auth/client";
import { adminClient, jwtClient, twoFactorClient } from "better-auth/client/plugins";
import { decodeJwt } from "jose";
import { PASSWORD, freshEmail, linkMailedTo, makeAdmin, totpCode } from "./helpers";

// The real Better Auth client (better-auth 1.7.25), run from Node against this server, as
// an app that used to talk to a Better Auth server would run it. Every flow runs twice:
// once as a mobile or server-side app does (the signed session token from `set-auth-token`
// sent back as a bearer token) and once as a browser does (a cookie jar, and the Origin
// header a browser adds to every cross-site-checked request).

const SESSION_COOKIE = "better-auth.session_token";

type Mode = "bearer tokens" | "a cookie jar";
const MODES: Mode[] = ["bearer tokens", "a cookie jar"];

/** The cookies a browser would keep for the server: stores Set-Cookie, sends Cookie. */
class CookieJar {
  private readonly cookies = new Map<string, string>();

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  get(name: string): string | undefined {
    return this.cookies.get(name);
  }

  readonly fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers);
    if (this.cookies.size > 0) {
      headers.set("cookie", this.header());
    }
    const response = await fetch(input, { ...init, headers });
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";");
      const name = pair.slice(0, pair.indexOf("=")).trim();
      const value = pair.slice(pair.indexOf("=") + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a));
      if (expired || value === "") {
        this.cookies.delete(name);
      } else {
        this.cookies.set(name, value);
      }
    }
    return response;
  };
}

/** One app instance with its own session, holding it the way `mode` says. */
class Connection {
  /** Every error the client handed back, to check that each one says what went wrong. */
  readonly errors: { status: number; message?: unknown; code?: unknown }[] = [];
  /** The JWT of the last `set-auth-jwt` header. */
  lastJwtHeader: string | null = null;
  private bearer = "";
  private readonly jar = new CookieJar();
  readonly client;

  /** The methods of the last sign-in that waited for a second factor. */
  twoFactorMethods: string[] | null = null;

  constructor(readonly baseURL: string, readonly mode: Mode) {
    const byCookie = mode === "a cookie jar";
    this.client = createAuthClient({
      baseURL,
      plugins: [
        jwtClient(),
        adminClient(),
        twoFactorClient({
          onTwoFactorRedirect: ({ twoFactorMethods }) => {
            this.twoFactorMethods = twoFactorMethods;
          },
        }),
      ],
      fetchOptions: {
        ...(byCookie
          ? { customFetchImpl: this.jar.fetch, headers: { origin: baseURL } }
          : { auth: { type: "Bearer" as const, token: () => this.bearer || undefined } }),
        onSuccess: (context) => {
          const token = context.response.headers.get("set-auth-token");
          if (token) {
            this.bearer = token;
          }
          this.lastJwtHeader = context.response.headers.get("set-auth-jwt") ?? this.lastJwtHeader;
        },
        onError: (context) => {
          this.errors.push(context.error);
        },
      },
    });
  }

  /** The headers that carry this connection's session right now, for a request by hand. */
  credentials(): Record<string, string> {
    if (this.mode === "a cookie jar") {
      const value = this.jar.get(SESSION_COOKIE);
      expect(value, "the jar holds a session cookie").toBeTruthy();
      return { cookie: `${SESSION_COOKIE}=${value}`, origin: this.baseURL };
    }
    expect(this.bearer, "a set-auth-token header was received").toBeTruthy();
    return { authorization: `Bearer ${this.bearer}` };
  }

  async signUp(name: string, email = freshEmail()) {
    const { data, error } = await this.client.signUp.email({ name, email, password: PASSWORD });
    expect(error).toBeNull();
    return data!;
  }

  async signIn(email: string) {
    const { data, error } = await this.client.signIn.email({ email, password: PASSWORD });
    expect(error).toBeNull();
    return data!;
  }
}

/** Whether a session credential taken earlier still opens a session on the server. */
async function opensASession(baseURL: string, credentials: Record<string, string>): Promise<boolean> {
  const response = await fetch(`${baseURL}/api/auth/get-session`, { headers: credentials });
  expect(response.status).toBe(200);
  return (await response.json()) !== null;
}

/**
 * Expects a date the client parsed to be the moment the server stamped it, give or take ten
 * seconds: the client turns ISO strings into Dates, and reads any fraction as milliseconds.
 */
function expectJustNow(date: Date, what: string) {
  expect(date, what).toBeInstanceOf(Date);
  // Soft, so that the rest of a flow still runs when a date comes back wrong.
  expect.soft(Math.abs(date.getTime() - Date.now()), `${what} is the current time`).toBeLessThan(10_000);
}

/** Expects a failed client call, with the status and code given and a message. */
function expectFailure(
  result: { data: unknown; error: { status: number; code?: string; message?: string } | null },
  status: number,
  code?: string,
) {
  expect(result.data).toBeNull();
  expect(result.error, "the call failed").not.toBeNull();
  expect(result.error!.status).toBe(status);
  if (code) {
    expect(result.error!.code).toBe(code);
  } else {
    expect(result.error!.code).toEqual(expect.any(String));
  }
  expect(typeof result.error!.message).toBe("string");
  expect(result.error!.message!.length).toBeGreaterThan(0);
}

/**
 * Declares a test that runs once with bearer tokens and once with a cookie jar. `connect`
 * makes a new app instance; afterwards every error any of them got must have a message.
 */
function inBothModes(
  title: string,
  body: (connect: () => Connection, baseURL: string) => Promise<void>,
) {
  for (const mode of MODES) {
    test(`${title}, with ${mode}`, async ({ baseURL }) => {
      const connections: Connection[] = [];
      await body(() => {
        const connection = new Connection(baseURL!, mode);
        connections.push(connection);
        return connection;
      }, baseURL!);
      for (const error of connections.flatMap((c) => c.errors)) {
        expect(typeof error.message, `the ${error.status} error has a message`).toBe("string");
        expect((error.message as string).length, `the ${error.status} error has a message`).toBeGreaterThan(0);
      }
    });
  }
}

inBothModes("signing up and in answers the user and the session token", async (connect) => {
  const app = connect();
  const email = freshEmail();
  const signedUp = await app.signUp("Client Person", email.toUpperCase());
  expect(typeof signedUp.token).toBe("string");
  expect(signedUp.token!.length).toBeGreaterThan(0);
  expect(typeof signedUp.user.id).toBe("string");
  expect(signedUp.user.email).toBe(email);
  expect(signedUp.user.name).toBe("Client Person");
  expect(signedUp.user.emailVerified).toBe(false);
  expectJustNow(signedUp.user.createdAt, "user.createdAt");
  expectJustNow(signedUp.user.updatedAt, "user.updatedAt");
  expect(app.credentials()).toBeTruthy();

  const other = connect();
  const signedIn = await other.signIn(email);
  expect(signedIn.redirect).toBe(false);
  expect(typeof signedIn.token).toBe("string");
  expect(signedIn.token).not.toBe(signedUp.token);
  expect(signedIn.user.id).toBe(signedUp.user.id);
  expect(signedIn.user.createdAt).toBeInstanceOf(Date);
  expect(other.credentials()).toBeTruthy();
});

inBothModes("updateUser, changePassword and deleteUser change and end the account", async (connect, baseURL) => {
  const app = connect();
  const { user } = await app.signUp("Client Person");
  const other = connect();
  await other.signIn(user.email);
  const othersCredentials = other.credentials();

  const renamed = await app.client.updateUser({ name: "Client Renamed" });
  expect(renamed.error).toBeNull();
  expect(renamed.data).toEqual({ status: true });
  const session = await app.client.getSession();
  expect(session.data!.user.name).toBe("Client Renamed");
  expectFailure(await app.client.updateUser({ name: "" }), 400, "VALIDATION_ERROR");

  const newPassword = "a new passphrase for the client";
  const wrong = await app.client.changePassword({ currentPassword: "not it", newPassword });
  expectFailure(wrong, 400, "INVALID_PASSWORD");
  const changed = await app.client.changePassword({
    currentPassword: PASSWORD,
    newPassword,
    revokeOtherSessions: true,
  });
  expect(changed.error).toBeNull();
  expect(changed.data!.user.id).toBe(user.id);
  expect(typeof changed.data!.token).toBe("string");
  expect(await opensASession(baseURL, othersCredentials), "the other session ended").toBe(false);
  const oldPassword = await connect().client.signIn.email({ email: user.email, password: PASSWORD });
  expectFailure(oldPassword, 401, "INVALID_EMAIL_OR_PASSWORD");

  const credentials = app.credentials();
  expectFailure(await app.client.deleteUser({ password: PASSWORD }), 400, "INVALID_PASSWORD");
  const deleted = await app.client.deleteUser({ password: newPassword });
  expect(deleted.error).toBeNull();
  expect(deleted.data).toEqual({ success: true, message: "User deleted" });
  expect(await opensASession(baseURL, credentials)).toBe(false);
  const gone = await connect().client.signIn.email({ email: user.email, password: newPassword });
  expectFailure(gone, 401, "INVALID_EMAIL_OR_PASSWORD");
});

inBothModes("requestPasswordReset, resetPassword, sendVerificationEmail, verifyEmail and changeEmail follow the emailed links", async (connect, baseURL) => {
  const app = connect();
  const { user } = await app.signUp("Client Mailer");
  const before = app.credentials();

  const asked = await connect().client.requestPasswordReset({ email: user.email, redirectTo: "/reset-password" });
  expect(asked.error).toBeNull();
  expect(asked.data).toEqual({
    status: true,
    message: "If this email exists in our system, check your email for the reset link",
  });
  const resetLink = new URL(await linkMailedTo(user.email));
  const token = resetLink.pathname.split("/").pop()!;
  const newPassword = "a passphrase the client reset";
  expectFailure(await connect().client.resetPassword({ newPassword, token: `${token}x` }), 400, "INVALID_TOKEN");
  const reset = await connect().client.resetPassword({ newPassword, token });
  expect(reset.error).toBeNull();
  expect(reset.data).toEqual({ status: true });
  expect(await opensASession(baseURL, before), "a reset ends every session").toBe(false);

  const again = connect();
  const { error } = await again.client.signIn.email({ email: user.email, password: newPassword });
  expect(error).toBeNull();
  expect((await again.client.getSession()).data!.user.emailVerified, "the reset link reached the address").toBe(true);

  const verifier = connect();
  const { user: unverified } = await verifier.signUp("Client Verifier");
  const sent = await verifier.client.sendVerificationEmail({ email: unverified.email, callbackURL: "/email-verified" });
  expect(sent.error).toBeNull();
  expect(sent.data).toEqual({ status: true });
  const verifyToken = new URL(await linkMailedTo(unverified.email)).searchParams.get("token")!;
  const verified = await verifier.client.verifyEmail({ query: { token: verifyToken } });
  expect(verified.error).toBeNull();
  expect(verified.data!.status).toBe(true);
  expect((await verifier.client.getSession()).data!.user.emailVerified).toBe(true);

  const moved = `moved-${user.email}`;
  const changing = await again.client.changeEmail({ newEmail: moved, callbackURL: "/email-verified" });
  expect(changing.error).toBeNull();
  expect(changing.data).toEqual({ status: true });
  // A verified address approves the move first; then the new address gets its link.
  const approval = new URL(await linkMailedTo(user.email, 2)).searchParams.get("token")!;
  expect((await again.client.verifyEmail({ query: { token: approval } })).error).toBeNull();
  expect((await again.client.getSession()).data!.user.email).toBe(user.email);
  const changeToken = new URL(await linkMailedTo(moved)).searchParams.get("token")!;
  expect((await again.client.verifyEmail({ query: { token: changeToken } })).error).toBeNull();
  expect((await again.client.getSession()).data!.user.email).toBe(moved);
});

inBothModes("a wrong password is refused with Better Auth's code and a message", async (connect) => {
  const app = connect();
  const { user } = await app.signUp("Forgetful");

  const wrong = await connect().client.signIn.email({ email: user.email, password: "not the password at all" });
  expectFailure(wrong, 401, "INVALID_EMAIL_OR_PASSWORD");

  const unknown = await connect().client.signIn.email({ email: freshEmail(), password: PASSWORD });
  expectFailure(unknown, 401, "INVALID_EMAIL_OR_PASSWORD");
});

inBothModes("the session comes back with dates, and token() gives a JWT that opens the tasks API", async (connect, baseURL) => {
  const app = connect();
  const { user } = await app.signUp("Session Reader");

  const session = await app.client.getSession();
  expect(session.error).toBeNull();
  expect(session.data!.user.id).toBe(user.id);
  expect(session.data!.user.email).toBe(user.email);
  expect(session.data!.user.createdAt).toBeInstanceOf(Date);
  expect(session.data!.user.updatedAt).toBeInstanceOf(Date);
  expect(typeof session.data!.session.id).toBe("string");
  expect(session.data!.session.userId).toBe(user.id);
  expect(session.data!.session.expiresAt).toBeInstanceOf(Date);
  expect(session.data!.session.expiresAt.getTime()).toBeGreaterThan(Date.now());
  expectJustNow(session.data!.session.createdAt, "session.createdAt");
  expectJustNow(session.data!.user.createdAt, "user.createdAt");
  expect(app.lastJwtHeader, "get-session sent set-auth-jwt").toBeTruthy();
  expect(decodeJwt(app.lastJwtHeader!).sub).toBe(user.id);

  const token = await app.client.token();
  expect(token.error).toBeNull();
  expect(typeof token.data!.token).toBe("string");
  const claims = decodeJwt(token.data!.token);
  expect(claims).toMatchObject({
    sub: user.id,
    id: user.id,
    email: user.email,
    emailVerified: false,
    role: "user",
    banned: false,
    iss: expect.any(String),
    aud: expect.anything(),
    exp: expect.any(Number),
    sid: session.data!.session.id,
  });
  expect.soft(user.createdAt.getTime(), "the client's user.createdAt is the JWT's createdAt").toBe(
    new Date(claims.createdAt as string).getTime(),
  );
  expect(typeof claims.updatedAt).toBe("string");
  expect(claims.exp! * 1000).toBeGreaterThan(Date.now());

  const bearer = { authorization: `Bearer ${token.data!.token}`, "content-type": "application/json" };
  const created = await fetch(`${baseURL}/api/tasks`, {
    method: "POST",
    headers: bearer,
    body: JSON.stringify({ title: "Made with the client's JWT" }),
  });
  expect(created.status).toBe(201);
  const task = await created.json();
  expect(task).toMatchObject({ title: "Made with the client's JWT", completed: false });
  const listed = await fetch(`${baseURL}/api/tasks`, { headers: bearer });
  expect(listed.status).toBe(200);
  expect(await listed.json()).toEqual([task]);
});

inBothModes("a session revoked from the list stops working, and the listed token is no credential", async (connect, baseURL) => {
  const phone = connect();
  const { user } = await phone.signUp("Two Devices");
  const laptop = connect();
  await laptop.signIn(user.email);
  const laptopSession = (await laptop.client.getSession()).data!.session;
  const laptopCredentials = laptop.credentials();

  const listed = await phone.client.listSessions();
  expect(listed.error).toBeNull();
  expect(listed.data).toHaveLength(2);
  for (const item of listed.data!) {
    expect(typeof item.id).toBe("string");
    expect(typeof item.token).toBe("string");
    expect(item.userId).toBe(user.id);
    expect(item.expiresAt).toBeInstanceOf(Date);
    expect(item.createdAt).toBeInstanceOf(Date);
  }
  const laptopItem = listed.data!.find((item) => item.id === laptopSession.id);
  expect(laptopItem, "the laptop's session is listed").toBeDefined();

  // What list-sessions shows is not a way in: neither as a bearer token nor as a cookie.
  for (const item of listed.data!) {
    expect(await opensASession(baseURL, { authorization: `Bearer ${item.token}` })).toBe(false);
    expect(await opensASession(baseURL, { cookie: `${SESSION_COOKIE}=${encodeURIComponent(item.token)}` })).toBe(false);
  }

  const revoked = await phone.client.revokeSession({ token: laptopItem!.token });
  expect(revoked.error).toBeNull();
  expect(revoked.data).toEqual({ status: true });

  expect(await opensASession(baseURL, laptopCredentials)).toBe(false);
  const laptopNow = await laptop.client.getSession();
  expect(laptopNow.error).toBeNull();
  expect(laptopNow.data).toBeNull();
  expectFailure(await laptop.client.token(), 401);
  const phoneNow = await phone.client.getSession();
  expect(phoneNow.data!.user.id).toBe(user.id);
  const remaining = await phone.client.listSessions();
  expect(remaining.data!.map((item) => item.id)).toEqual(
    listed.data!.filter((item) => item.id !== laptopSession.id).map((item) => item.id),
  );
});

inBothModes("signing out the other sessions ends another client's session and keeps this one", async (connect, baseURL) => {
  const here = connect();
  const { user } = await here.signUp("Tidy Person");
  const elsewhere = connect();
  await elsewhere.signIn(user.email);
  const elsewhereCredentials = elsewhere.credentials();
  expect((await elsewhere.client.getSession()).data!.user.id).toBe(user.id);

  const result = await here.client.revokeOtherSessions();
  expect(result.error).toBeNull();
  expect(result.data).toEqual({ status: true });

  expect((await elsewhere.client.getSession()).data).toBeNull();
  expect(await opensASession(baseURL, elsewhereCredentials)).toBe(false);
  expect((await here.client.getSession()).data!.user.id).toBe(user.id);
  expect(await opensASession(baseURL, here.credentials())).toBe(true);
  const listed = await here.client.listSessions();
  expect(listed.data).toHaveLength(1);
});

inBothModes("an admin lists, bans, unbans and promotes users; a non-admin is refused", async (connect) => {
  const member = connect();
  const { user: memberUser } = await member.signUp("Ordinary Member");

  // Someone who is not an admin gets 403 with a code, for each admin call.
  expectFailure(await member.client.admin.listUsers({ query: {} }), 403, "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS");
  expectFailure(await member.client.admin.banUser({ userId: memberUser.id }), 403, "YOU_ARE_NOT_ALLOWED_TO_BAN_USERS");
  expectFailure(await member.client.admin.unbanUser({ userId: memberUser.id }), 403);
  expectFailure(
    await member.client.admin.setRole({ userId: memberUser.id, role: "admin" }),
    403,
    "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE",
  );

  const admin = connect();
  const adminEmail = freshEmail();
  await admin.signUp("Client Admin", adminEmail);
  makeAdmin(adminEmail);
  await admin.signIn(adminEmail);
  expect((await admin.client.getSession()).data!.user.role).toBe("admin");

  const everyone = await admin.client.admin.listUsers({ query: {} });
  expect(everyone.error).toBeNull();
  expect(Array.isArray(everyone.data!.users)).toBe(true);
  expect(typeof everyone.data!.total).toBe("number");
  expect(everyone.data!.total).toBeGreaterThanOrEqual(2);
  const listedMember = everyone.data!.users.find((u) => u.id === memberUser.id);
  expect(listedMember).toMatchObject({ email: memberUser.email, role: "user", banned: false });
  expect(listedMember!.createdAt).toBeInstanceOf(Date);

  // The query the client's types offer: a search by email, and a page size.
  const found = await admin.client.admin.listUsers({
    query: { searchValue: memberUser.email, searchField: "email", searchOperator: "contains" },
  });
  expect.soft(found.data?.users.map((u) => u.id), "search by email finds just that user").toEqual([memberUser.id]);
  expect.soft(found.data?.total, "total counts the matching users").toBe(1);
  const page = await admin.client.admin.listUsers({ query: { limit: 1 } });
  expect.soft(page.data?.users, "limit: 1 answers one user").toHaveLength(1);

  const banned = await admin.client.admin.banUser({ userId: memberUser.id, banReason: "spam" });
  expect(banned.error).toBeNull();
  expect(banned.data!.user).toMatchObject({ id: memberUser.id, banned: true, banReason: "spam" });
  expect((await member.client.getSession()).data).toBeNull();
  const refused = await connect().client.signIn.email({ email: memberUser.email, password: PASSWORD });
  expectFailure(refused, 403, "BANNED_USER");

  const unbanned = await admin.client.admin.unbanUser({ userId: memberUser.id });
  expect(unbanned.error).toBeNull();
  expect(unbanned.data!.user).toMatchObject({ id: memberUser.id, banned: false });
  await member.signIn(memberUser.email);

  const promoted = await admin.client.admin.setRole({ userId: memberUser.id, role: "admin" });
  expect(promoted.error).toBeNull();
  expect(promoted.data!.user).toMatchObject({ id: memberUser.id, role: "admin" });
  expect((await member.client.getSession()).data!.user.role).toBe("admin");
  const asNewAdmin = await member.client.admin.listUsers({ query: {} });
  expect(asNewAdmin.error).toBeNull();
  expect(asNewAdmin.data!.users.map((u) => u.id)).toContain(memberUser.id);

  const demoted = await admin.client.admin.setRole({ userId: memberUser.id, role: "user" });
  expect(demoted.data!.user.role).toBe("user");
  expectFailure(await member.client.admin.listUsers({ query: {} }), 403, "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS");
});

inBothModes("signing out ends the session on the server", async (connect, baseURL) => {
  const app = connect();
  await app.signUp("Leaving Soon");
  const credentials = app.credentials();
  expect(await opensASession(baseURL, credentials)).toBe(true);

  const result = await app.client.signOut();
  expect(result.error).toBeNull();
  expect(result.data).toEqual({ success: true });

  expect(await opensASession(baseURL, credentials)).toBe(false);
  const session = await app.client.getSession();
  expect(session.error).toBeNull();
  expect(session.data).toBeNull();
  expectFailure(await app.client.token(), 401);
  expectFailure(await app.client.listSessions(), 401);
});

test("getSessionCookie, as a Next.js middleware calls it, sees the signed-in person's cookie", async ({ baseURL }) => {
  const { getSessionCookie } = await import("better-auth/cookies");
  const app = new Connection(baseURL!, "a cookie jar");
  await app.signUp("Behind Middleware");
  const { cookie } = app.credentials();
  const seen = getSessionCookie(new Request(`${baseURL}/tasks`, { headers: { cookie } }));
  expect(seen, "the middleware finds the session cookie").toBeTruthy();
  expect(await opensASession(baseURL!, { cookie: `${SESSION_COOKIE}=${encodeURIComponent(seen!)}` })).toBe(true);
  expect(getSessionCookie(new Request(`${baseURL}/tasks`))).toBeNull();
});

test("twoFactorClient turns TOTP on, signs in with a code, a backup code and a trusted browser, and turns it off", async ({
  baseURL,
}) => {
  const owner = new Connection(baseURL!, "a cookie jar");
  const { user } = await owner.signUp("Two Factor Person");

  const wrongPassword = await owner.client.twoFactor.enable({ password: "not the password" });
  expectFailure(wrongPassword, 400, "INVALID_PASSWORD");
  const enabled = await owner.client.twoFactor.enable({ password: PASSWORD });
  expect(enabled.error).toBeNull();
  const uri = enabled.data!.totpURI;
  expect(uri).toMatch(/^otpauth:\/\/totp\//);
  expect(enabled.data!.backupCodes).toHaveLength(10);
  const first = totpCode(uri);
  const confirmed = await owner.client.twoFactor.verifyTotp({ code: first });
  expect(confirmed.error).toBeNull();
  expect(confirmed.data!.user.twoFactorEnabled).toBe(true);

  // A sign-in now waits for a code: the client hands the methods to onTwoFactorRedirect.
  const phone = new Connection(baseURL!, "a cookie jar");
  const waiting = await phone.client.signIn.email({ email: user.email, password: PASSWORD });
  expect(waiting.error).toBeNull();
  expect(phone.twoFactorMethods).toEqual(["totp"]);
  expect((waiting.data as { token?: string }).token).toBeUndefined();
  const replayed = await phone.client.twoFactor.verifyTotp({ code: first });
  expectFailure(replayed, 401, "INVALID_CODE");
  const passed = await phone.client.twoFactor.verifyTotp({ code: totpCode(uri, 1), trustDevice: true });
  expect(passed.error).toBeNull();
  expect(passed.data!.user.id).toBe(user.id);
  const token = await phone.client.token();
  expect(decodeJwt(token.data!.token).amr).toEqual(["pwd", "otp", "mfa"]);

  // The trusted browser signs in with the password alone.
  await phone.client.signOut();
  phone.twoFactorMethods = null;
  const trusted = await phone.client.signIn.email({ email: user.email, password: PASSWORD });
  expect(trusted.error).toBeNull();
  expect(phone.twoFactorMethods).toBeNull();
  expect(typeof (trusted.data as { token?: string }).token).toBe("string");

  // Another browser uses a backup code, once.
  const laptop = new Connection(baseURL!, "a cookie jar");
  await laptop.client.signIn.email({ email: user.email, password: PASSWORD });
  expect(laptop.twoFactorMethods).toEqual(["totp"]);
  const backup = enabled.data!.backupCodes[0];
  const byBackup = await laptop.client.twoFactor.verifyBackupCode({ code: backup });
  expect(byBackup.error).toBeNull();
  const again = new Connection(baseURL!, "a cookie jar");
  await again.client.signIn.email({ email: user.email, password: PASSWORD });
  expectFailure(await again.client.twoFactor.verifyBackupCode({ code: backup }), 401, "INVALID_CODE");

  const codes = await laptop.client.twoFactor.generateBackupCodes({ password: PASSWORD });
  expect(codes.error).toBeNull();
  expect(codes.data!.backupCodes).toHaveLength(10);
  const disabled = await laptop.client.twoFactor.disable({ password: PASSWORD });
  expect(disabled.error).toBeNull();
  const plain = new Connection(baseURL!, "a cookie jar");
  const direct = await plain.signIn(user.email);
  expect(plain.twoFactorMethods).toBeNull();
  expect(direct.user.twoFactorEnabled).toBe(false);
});
