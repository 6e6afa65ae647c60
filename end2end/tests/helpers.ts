import { expect, type APIRequestContext, type Page } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { resolve } from "node:path";

export const PASSWORD = "correct horse battery staple";

/** The workspace root, where the server binary and the test databases live. */
const WORKSPACE = resolve(__dirname, "../..");

/** The server binary under test (E2E_SERVER names another, such as the release build). */
export const SERVER_BINARY = process.env.E2E_SERVER ?? "target/debug/server";

/** Where the main test server keeps its fresh database, relative to the workspace root. */
export const DATA_DIR = "target/e2e";

/** The address the admin tests sign up with, then promote with `makeAdmin`. */
export const ADMIN_EMAIL = "e2e-admin@example.com";

/**
 * Makes an existing user an admin the one way the app allows: the server's
 * `make-admin` command on the test server's database (nobody becomes admin by signing
 * up). Run from a directory of its own, so a developer's `.env` is not read. The test
 * admin's address is never verified, hence `--unverified`.
 */
export function makeAdmin(email: string): void {
  execFileSync(resolve(WORKSPACE, SERVER_BINARY), ["make-admin", "--unverified", email], {
    cwd: tmpdir(),
    env: {
      ...process.env,
      DATABASE_URL: `sqlite://${resolve(WORKSPACE, DATA_DIR)}/taskboard.db?mode=rwc`,
      RUST_LOG: "error",
    },
    stdio: "pipe",
  });
}

/** The second test server, on the next port, whose access tokens expire after 2 s. */
export function shortTokenServer(baseURL: string): string {
  const url = new URL(baseURL);
  url.port = String(Number(url.port) + 1);
  return url.origin;
}

/** The third test server, two ports up, where an account may keep only three tasks. */
export function smallQuotaServer(baseURL: string): string {
  const url = new URL(baseURL);
  url.port = String(Number(url.port) + 2);
  return url.origin;
}

/**
 * Two origins that are same-site with the main test server but not its origin: `listed`
 * (nine ports up) is in its CORS_ALLOWED_ORIGINS, `unlisted` (ten ports up) is not. Nothing
 * listens there; a test serves their pages itself.
 */
export function crossOriginFrontends(baseURL: string): { listed: string; unlisted: string } {
  const at = (offset: number) => {
    const url = new URL(baseURL);
    url.port = String(Number(url.port) + offset);
    return url.origin;
  };
  return { listed: at(9), unlisted: at(10) };
}

/**
 * The link in the newest email to `address`, read from the main test server's
 * development outbox (`outbox/` beside its database: no SMTP server is configured), as
 * soon as it has been written, and once `nth` emails have gone to the address. Sending
 * happens after the answer, so this waits for it.
 */
export async function linkMailedTo(address: string, nth = 1): Promise<string> {
  const outbox = resolve(WORKSPACE, DATA_DIR, "outbox");
  let link: string | undefined;
  await expect
    .poll(() => {
      const mails = readdirSync(outbox)
        .filter((name) => name.endsWith(".eml"))
        .map((name) => resolve(outbox, name))
        .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
        .map((file) => readFileSync(file, "latin1"))
        .filter((mail) => new RegExp(`^To: ${address.replace(/[.+]/g, "\\$&")}\r?$`, "mi").test(mail));
      link = mails.map(linkIn).find((found) => found !== undefined);
      return mails.length;
    }, { message: `${nth} emails to ${address}`, timeout: 15_000 })
    .toBeGreaterThanOrEqual(nth);
  return link ?? "";
}

/**
 * The link in a raw message, its quoted-printable undone: to the page that confirms a
 * verification, an approval or a change of address, or a reset link into the API.
 */
function linkIn(raw: string): string | undefined {
  const text = raw
    .replace(/=\r?\n/g, "")
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return text.match(/https?:\/\/[^\s"<>]+\/(?:confirm-email\?|api\/auth\/reset-password\/)[^\s"<>]+/)?.[0];
}

/** Sends the banner's verification link to `email`, the signed-in person's, and answers the link. */
export async function sendVerificationLink(page: Page, email: string): Promise<string> {
  const banner = page.getByRole("region", { name: "Confirm your email address" });
  await banner.getByRole("button", { name: "Send me the link" }).click();
  await expect(banner).toContainText(`We sent a link to ${email}.`);
  return linkMailedTo(email);
}

export function freshEmail(): string {
  return `e2e-${randomUUID()}@example.com`;
}

/** Creates an account through the JSON API (not as a person would) and returns its email. */
export async function accountFor(request: APIRequestContext, name: string): Promise<string> {
  const email = freshEmail();
  const created = await request.post("/api/auth/sign-up/email", {
    data: { name, email, password: PASSWORD },
  });
  expect(created.ok()).toBeTruthy();
  return email;
}

/** Signs up through the form, as a person would, and waits for the task list. */
export async function signUp(page: Page, name = "Ada Lovelace", email = freshEmail()): Promise<string> {
  await page.goto("/sign-up?next=/tasks");
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/tasks$/);
  await expect(page.getByRole("heading", { name: "Your tasks" })).toBeVisible();
  return email;
}

/** Signs in through the form and waits for the task list. */
export async function signIn(page: Page, email: string): Promise<void> {
  await page.goto("/sign-in?next=/tasks");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Your tasks" })).toBeVisible();
}

/** Waits until the page has hydrated: the add button is enabled only then. */
export async function waitUntilInteractive(page: Page): Promise<void> {
  await expect(page.getByRole("button", { name: "Add task" })).toBeEnabled();
}

export async function addTask(page: Page, title: string, description?: string): Promise<void> {
  await page.getByLabel("Title").fill(title);
  if (description) {
    await page.getByLabel("Description").fill(description);
  }
  await page.getByRole("button", { name: "Add task" }).click();
  await expect(page.getByRole("checkbox", { name: title })).toBeVisible();
  await expect(page.getByLabel("Title")).toHaveValue("");
}

export function taskList(page: Page) {
  return page.getByRole("list", { name: "Tasks" }).getByRole("listitem");
}

/**
 * The code an authenticator app shows (RFC 6238: HMAC-SHA1, 6 digits, 30 s) for a base32
 * secret, given as typed or inside an `otpauth://` URI, `stepsFromNow` periods ahead.
 */
export function totpCode(secretOrUri: string, stepsFromNow = 0): string {
  const encoded = secretOrUri.startsWith("otpauth:")
    ? new URL(secretOrUri).searchParams.get("secret")!
    : secretOrUri.replace(/\s+/g, "");
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const char of encoded) {
    bits += alphabet.indexOf(char).toString(2).padStart(5, "0");
  }
  const key = Buffer.from(bits.match(/.{8}/g)!.map((byte) => parseInt(byte, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30_000) + stepsFromNow));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return value.toString().padStart(6, "0");
}
