import { expect, test, type Page } from "@playwright/test";
import {
  ADMIN_EMAIL,
  makeAdmin,
  PASSWORD,
  accountFor,
  addTask,
  signIn,
  signUp,
  shortTokenServer,
  taskList,
  waitUntilInteractive,
} from "./helpers";

async function sessionCookie(page: Page): Promise<string | undefined> {
  const cookies = await page.context().cookies();
  return cookies.find((c) => c.name === "better-auth.session_token")?.value;
}

test("an access token that expires on an open page is refreshed without the person noticing", async ({ page, baseURL }) => {
  const server = shortTokenServer(baseURL!);
  const email = `e2e-short-${Date.now()}@example.com`;
  await page.goto(`${server}/sign-up?next=/tasks`);
  await page.getByLabel("Name").fill("Night Owl");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/tasks$/);
  await waitUntilInteractive(page);
  await addTask(page, "Before the token expired");
  const before = await sessionCookie(page);

  await page.waitForTimeout(3_000);
  await addTask(page, "After the token expired");
  await expect(page).toHaveURL(/\/tasks$/);
  await expect(page.getByRole("alert")).toHaveCount(0);
  expect(await sessionCookie(page)).not.toEqual(before);

  await page.waitForTimeout(3_000);
  await page.reload();
  await expect(taskList(page)).toHaveCount(2);
  await waitUntilInteractive(page);
  await page.getByRole("checkbox", { name: "Before the token expired" }).check();
  await expect(page.getByText("1 open · 1 done")).toBeVisible();
});

test("signing out everywhere in one browser closes the session in the other", async ({ browser }) => {
  const first = await browser.newPage();
  const email = await signUp(first, "Two Browsers");
  const second = await browser.newPage();
  await signIn(second, email);
  await waitUntilInteractive(second);

  await first.goto("/account");
  const sessions = first.getByRole("list", { name: "Sessions" }).getByRole("listitem");
  await expect(sessions).toHaveCount(2);
  await expect(first.getByText("This browser")).toHaveCount(1);
  await first.getByRole("button", { name: "Sign out everywhere" }).click();
  await expect(first).toHaveURL(/\/sign-in$/);

  await second.getByLabel("Title").fill("Typed in the other browser");
  await second.getByRole("button", { name: "Add task" }).click();
  await expect(second).toHaveURL(/\/sign-in\?next=\/tasks&reason=expired$/);
  await expect(second.getByText("Your session has ended. Sign in again to continue.")).toBeVisible();
  await second.context().close();
  await first.context().close();
});

test("one other session is signed out from the account page", async ({ browser }) => {
  const first = await browser.newPage();
  const email = await signUp(first, "Careful Person");
  const second = await browser.newPage();
  await signIn(second, email);

  await first.goto("/account");
  const sessions = first.getByRole("list", { name: "Sessions" }).getByRole("listitem");
  await expect(sessions).toHaveCount(2);
  await first.getByRole("button", { name: /^Sign out (Chrome|Headless|Unknown)/ }).click();
  await expect(sessions).toHaveCount(1);

  await second.reload();
  await expect(second).toHaveURL(/\/sign-in\?next=\/tasks$/);
  await second.context().close();
  await first.context().close();
});

test("an admin disables a user, whose open page then goes to sign in and says why", async ({ browser, request }) => {
  await request.post("/api/auth/sign-up/email", {
    data: { name: "Admin", email: ADMIN_EMAIL, password: PASSWORD },
  });
  makeAdmin(ADMIN_EMAIL);
  const userPage = await browser.newPage();
  const userEmail = await signUp(userPage, "Soon Disabled");
  await waitUntilInteractive(userPage);

  const adminPage = await browser.newPage();
  await signIn(adminPage, ADMIN_EMAIL);
  await adminPage.getByRole("link", { name: "Admin" }).click();
  await expect(adminPage.getByRole("heading", { name: "Administration" })).toBeVisible();
  const row = adminPage.getByRole("table", { name: "Users" }).getByRole("row").filter({ hasText: userEmail });
  await expect(row).toContainText("Active");
  await adminPage.getByRole("button", { name: `Disable ${userEmail}` }).click();
  await expect(row).toContainText("Disabled");

  await userPage.getByLabel("Title").fill("Will not be saved");
  await userPage.getByRole("button", { name: "Add task" }).click();
  await expect(userPage).toHaveURL(/\/sign-in\?next=\/tasks&reason=disabled$/);
  await expect(userPage.getByText("Your account has been disabled. Contact an administrator.")).toBeVisible();
  await userPage.getByLabel("Email").fill(userEmail);
  await userPage.getByLabel("Password").fill(PASSWORD);
  await userPage.getByRole("button", { name: "Sign in" }).click();
  await expect(userPage.getByRole("alert")).toHaveText("This account has been disabled");

  await adminPage.getByLabel("Event", { exact: true }).selectOption("user_disabled");
  const events = adminPage.getByRole("table", { name: "Audit events" });
  await expect(events.getByRole("row").filter({ hasText: userEmail })).toHaveCount(1);
  await userPage.context().close();
  await adminPage.context().close();
});

test("the admin page is refused to people who are not admins", async ({ page, request }) => {
  const email = await accountFor(request, "Curious");
  await signIn(page, email);
  await page.goto("/admin");
  await expect(page.getByRole("alert").filter({ hasText: "Admins only" }).first()).toBeVisible();
  await expect(page.getByRole("link", { name: "Admin" })).toHaveCount(0);
});
