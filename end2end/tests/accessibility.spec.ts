import AxeBuilder from "@axe-core/playwright";
import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import {
  PASSWORD,
  accountFor,
  addTask,
  freshEmail,
  makeAdmin,
  sendVerificationLink,
  signIn,
  signUp,
  waitUntilInteractive,
} from "./helpers";

/** One rule's failure, as axe reports it. */
type Violation = Awaited<ReturnType<AxeBuilder["analyze"]>>["violations"][number];

/** Who looks at a page: nobody signed in, a person who just signed up, or an admin. */
type Visitor = "signed out" | "signed in" | "admin";

interface Checked {
  path: string;
  /** Waits until the page (or where it sent this visitor) is shown. */
  ready: (page: Page, visitor: Visitor) => Promise<void>;
  /** Who it is checked for: signed out and signed in unless given. */
  visitors?: Visitor[];
  /** Run once signed in, before the page is opened. */
  setUp?: (page: Page) => Promise<void>;
  /** A state of the page to check rather than how it opens, and how to reach it. */
  state?: { name: string; reach: (page: Page) => Promise<void> };
}

/**
 * Every page (and state of one), checked with axe for each visitor, on both projects.
 * Signed in, each page also shows the banner that asks to confirm the address.
 * `/docs` is Swagger UI in a frame of the site's own (`server/src/docs/`).
 */
const PAGES: Checked[] = [
  { path: "/", ready: heading("Your tasks, nobody else's.") },
  { path: "/sign-in", ready: heading("Sign in") },
  { path: "/sign-in?reason=expired", ready: shows("Your session has ended."), visitors: ["signed out"] },
  { path: "/sign-in", ready: heading("Sign in"), visitors: ["signed out"], state: { name: "a wrong password", reach: wrongPassword } },
  { path: "/sign-up", ready: heading("Create your account") },
  { path: "/account", ready: signedIn(accountHydrated) },
  { path: "/account", ready: accountHydrated, visitors: ["signed in"], state: { name: "a token issued", reach: issueToken } },
  { path: "/account", ready: accountHydrated, visitors: ["signed in"], state: { name: "two-factor sign-in being turned on", reach: startTwoFactor } },
  { path: "/two-factor?next=%2Ftasks", ready: heading("Enter your code"), visitors: ["signed out"] },
  { path: "/admin", ready: adminPage, visitors: ["signed out", "signed in", "admin"] },
  { path: "/tasks", ready: signedIn(waitUntilInteractive), setUp: tasks(10) },
  { path: "/tasks", ready: waitUntilInteractive, visitors: ["signed in"], setUp: tasks(2), state: { name: "a task being edited", reach: editTask } },
  { path: "/forgot-password", ready: heading("Forgot your password?") },
  { path: "/forgot-password?sent=1", ready: shows("a link to choose a new password is on its way"), visitors: ["signed out"] },
  { path: "/reset-password?token=an-emailed-token", ready: heading("Choose a new password"), visitors: ["signed out"] },
  { path: "/reset-password?error=INVALID_TOKEN", ready: shows("This link has been used"), visitors: ["signed out"] },
  { path: "/tasks", ready: waitUntilInteractive, visitors: ["signed in"], state: { name: "its verification link's page opened", reach: verificationPage } },
  { path: "/confirm-email?token=an-emailed-token", ready: heading("That link did not work") },
  { path: "/email-verified", ready: heading("Your email address is confirmed") },
  { path: "/email-verified?error=TOKEN_EXPIRED", ready: heading("That link did not work") },
  { path: "/email-verified?approved=true", ready: heading("Now open the link sent to your new address"), visitors: ["signed out"] },
  { path: "/sign-in?verify=sent", ready: heading("Confirm your address first"), visitors: ["signed out"] },
  { path: "/no-such-page", ready: heading("Page not found") },
  { path: "/docs/", ready: docsShown },
  { path: "/docs/", ready: docsShown, visitors: ["signed out"], state: { name: "an operation tried and the authorize dialog open", reach: tryAnOperation } },
];

/** What axe checks: WCAG 2.1 A and AA, and its best practices. No rule is turned off. */
const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"];

/** The stylesheet has a palette for each; every page is checked in both. */
const COLOR_SCHEMES = ["light", "dark"] as const;

for (const { path, ready, visitors = ["signed out", "signed in"], setUp, state } of PAGES) {
  for (const visitor of visitors) {
    const what = state ? `${path} with ${state.name}` : path;
    test(`${what} has no axe violations, ${visitor}`, async ({ page, request }) => {
      // The admin page lists every account the run has made by then, and /docs every
      // operation and schema of the API; axe reads each twice (both palettes).
      test.slow(visitor === "admin" || path.startsWith("/docs"));
      await enter(page, request, visitor);
      if (setUp && visitor !== "signed out") {
        await setUp(page);
      }
      await page.goto(path);
      await ready(page, visitor);
      // Hydrated once the wasm and the page's chunk have arrived (the pages without a
      // control that waits for it).
      await page.waitForLoadState("networkidle");
      await state?.reach(page);

      // Each violation once, with the schemes it was found in.
      const found = new Map<string, string[]>();
      for (const colorScheme of COLOR_SCHEMES) {
        await page.emulateMedia({ colorScheme });
        const { violations } = await new AxeBuilder({ page }).withTags(TAGS).analyze();
        for (const violation of violations.map(explain)) {
          found.set(violation, [...(found.get(violation) ?? []), colorScheme]);
        }
      }
      const report = [...found].map(([violation, schemes]) => `[${schemes.join(", ")}] ${violation}`);
      expect(report, `axe violations on ${page.url()} (${visitor})`).toEqual([]);
    });
  }
}

/** Signs this browser in as the visitor: a person signs up through the form. */
async function enter(page: Page, request: APIRequestContext, visitor: Visitor): Promise<void> {
  if (visitor === "signed in") {
    await signUp(page, "Ada Lovelace");
  } else if (visitor === "admin") {
    const email = await accountFor(request, "Grace Admin");
    makeAdmin(email);
    await signIn(page, email);
  }
}

/** One violation: the rule, its impact, and a line for each element with why it fails. */
function explain(violation: Violation): string {
  const nodes = violation.nodes.map((node) => {
    const target = node.target.map((part) => [part].flat().join(" >> ")).join(" | ");
    const why = (node.failureSummary ?? "").replace(/\s*\n\s*/g, " ");
    return `\n    ${target}: ${why}`;
  });
  return `${violation.id} (${violation.impact}): ${violation.help}${nodes.join("")}`;
}

function heading(name: string | RegExp) {
  return async (page: Page) => {
    await expect(page.getByRole("heading", { name }).first()).toBeVisible();
  };
}

function shows(text: string) {
  return async (page: Page) => {
    await expect(page.getByText(text)).toBeVisible();
  };
}

/** A signed-out visitor is sent to sign in; a signed-in one waits with `hydrated`. */
function signedIn(hydrated: (page: Page) => Promise<void>) {
  return async (page: Page, visitor: Visitor) => {
    if (visitor === "signed out") {
      await expect(page).toHaveURL(/\/sign-in\?next=/);
      await heading("Sign in")(page);
    } else {
      await hydrated(page);
    }
  };
}

/** The account page has hydrated once its token button is enabled (as in account.spec.ts). */
async function accountHydrated(page: Page): Promise<void> {
  await expect(page.getByRole("button", { name: "Issue token" })).toBeEnabled();
}

/** Sign-in for the signed out, the refusal for a person, the users and the log for an admin. */
async function adminPage(page: Page, visitor: Visitor): Promise<void> {
  if (visitor === "signed out") {
    await signedIn(async () => {})(page, visitor);
  } else if (visitor === "signed in") {
    await expect(page.getByRole("alert").filter({ hasText: "Admins only" }).first()).toBeVisible();
  } else {
    // Its buttons are enabled once the page has hydrated.
    await expect(page.getByRole("table", { name: "Users" }).getByRole("button", { name: /^Disable / }).first()).toBeEnabled();
    await expect(page.getByRole("table", { name: "Audit events" })).toBeVisible();
  }
}

/**
 * `count` tasks, the first with a description and finished. Ten for the task list, so
 * the counts in the filter buttons have two digits: axe leaves the contrast of
 * one-character text unchecked, and the count in the pressed button is where /tasks
 * failed.
 */
function tasks(count: number) {
  return async (page: Page) => {
    await waitUntilInteractive(page);
    for (let n = 1; n <= count; n++) {
      await addTask(page, `Task ${n}`, n === 1 ? "Two litres, oat" : undefined);
    }
    await page.getByRole("checkbox", { name: "Task 1", exact: true }).check();
    await expect(page.getByText(`${count - 1} open · 1 done`)).toBeVisible();
  };
}

async function editTask(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Edit Task 2", exact: true }).click();
  await expect(page.getByLabel("New title")).toBeVisible();
}

async function wrongPassword(page: Page): Promise<void> {
  await page.getByLabel("Email").fill(freshEmail());
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText("Invalid email or password");
}

/** Swagger UI has drawn the operations. */
async function docsShown(page: Page): Promise<void> {
  await heading("Taskboard API")(page);
  await expect(page.locator("#operations-tasks-list")).toBeVisible();
}

/** Lists the tasks from `/docs` (a 401: no token yet), then opens the authorize dialog. */
async function tryAnOperation(page: Page): Promise<void> {
  const list = page.locator("#operations-tasks-list");
  await list.locator(".opblock-summary").click();
  await list.getByRole("button", { name: "Try it out" }).click();
  await list.getByRole("button", { name: "Execute" }).click();
  await expect(list.locator(".live-responses-table tbody .response-col_status")).toHaveText(/401/);
  await page.getByRole("button", { name: "Authorize" }).first().click();
  await expect(page.getByRole("button", { name: "Close the dialog" })).toBeVisible();
}

/** Sends the banner's link to this person's address and opens it: the page that asks to confirm. */
async function verificationPage(page: Page): Promise<void> {
  const banner = page.getByRole("region", { name: "Confirm your email address" });
  const email = (await banner.textContent())?.match(/(\S+@\S+) is not confirmed/)?.[1] ?? "";
  await page.goto(await sendVerificationLink(page, email));
  await expect(page.getByRole("button", { name: "Confirm my address" })).toBeVisible();
  await page.waitForLoadState("networkidle");
}

async function startTwoFactor(page: Page): Promise<void> {
  const form = page.getByRole("form", { name: "Turn on two-factor sign-in" });
  await form.getByLabel("Password").fill(PASSWORD);
  await form.getByRole("button", { name: "Turn on" }).click();
  await expect(page.getByTestId("totp-secret")).toBeVisible();
}

async function issueToken(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Issue token" }).click();
  await expect(page.getByRole("textbox", { name: "API token" })).toBeVisible();
  await expect(page.getByRole("list", { name: "API tokens" })).toBeVisible();
}
