import { expect, test, type Page } from "@playwright/test";
import { PASSWORD, accountFor, freshEmail, signUp, waitUntilInteractive } from "./helpers";

test("visiting the task list signed out leads to sign in and back", async ({ page, request }) => {
  const email = await accountFor(request, "Grace");

  await page.goto("/tasks");
  await expect(page).toHaveURL(/\/sign-in\?next=\/tasks$/);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/tasks$/);
  await expect(page.getByText("Signed in as")).toContainText("Grace");
});

test("a wrong password is refused with a readable message", async ({ page }) => {
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill(freshEmail());
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText("Invalid email or password");
  await expect(page).toHaveURL(/\/sign-in/);
});

/** Signs in on a page whose `next` is hostile, and checks the browser stayed on this site. */
async function signInWithHostileNext(page: Page, email: string, baseURL: string | undefined) {
  // The audit's reproduction: browsers drop the tab, so `/\t/evil.example` would become
  // `//evil.example`, another host.
  await page.goto(`/sign-in?next=${encodeURIComponent("/\t/evil.example")}`, { waitUntil: "networkidle" });
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Your tasks" })).toBeVisible();
  expect(page.url()).toBe(`${baseURL}/tasks`);
}

test("a hostile next after sign-in stays on this site", async ({ page, request, baseURL }) => {
  await signInWithHostileNext(page, await accountFor(request, "Mallory's Mark"), baseURL);
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("a hostile next after sign-in stays on this site", async ({ page, request, baseURL }) => {
    await signInWithHostileNext(page, await accountFor(request, "Mallory's Mark"), baseURL);
  });

  test("sign-up and sign-in forms work and the task list is rendered on the server", async ({ page }) => {
    const email = freshEmail();
    await page.goto("/sign-up");
    await page.getByLabel("Name").fill("No Script");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page).toHaveURL(/\/tasks$/);
    await expect(page.getByRole("heading", { name: "Your tasks" })).toBeVisible();
    await expect(page.getByText("No tasks yet. Add your first one above.")).toBeVisible();

    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/sign-in$/);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("wrong password!");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert")).toHaveText("Invalid email or password");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/\/tasks$/);
  });
});

test("an ended session sends the person to sign in, says why, and keeps what they typed", async ({ page, context }) => {
  const email = await signUp(page);
  await waitUntilInteractive(page);
  await context.clearCookies();
  await page.getByLabel("Title").fill("Written after the session ended");
  await page.getByLabel("Description").fill("and not lost");
  await page.getByRole("button", { name: "Add task" }).click();
  await expect(page).toHaveURL(/\/sign-in\?next=\/tasks&reason=expired$/);
  await expect(page.getByText("Your session has ended. Sign in again to continue.")).toBeVisible();

  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/tasks$/);
  await waitUntilInteractive(page);
  await expect(page.getByLabel("Title")).toHaveValue("Written after the session ended");
  await expect(page.getByLabel("Description")).toHaveValue("and not lost");
});

test("an expired access token is renewed from the session without the person noticing", async ({ page, context }) => {
  await signUp(page);
  await waitUntilInteractive(page);
  const cookies = await context.cookies();
  const access = cookies.find((c) => c.name === "access_token")!;
  // Replace the JWT with one whose signature is wrong, as an expired one would fail.
  await context.addCookies([{ ...access, value: access.value.slice(0, -4) + "AAAA" }]);
  await page.getByLabel("Title").fill("Still works");
  await page.getByRole("button", { name: "Add task" }).click();
  await expect(page.getByRole("checkbox", { name: "Still works" })).toBeVisible();
  await expect(page).toHaveURL(/\/tasks$/);
});

test("a dead server is reported on the page, not only in the console", async ({ page }) => {
  await signUp(page);
  await waitUntilInteractive(page);
  await page.route("**/api/tasks", (route) => route.abort("connectionrefused"));
  await page.getByLabel("Title").fill("Nobody will store this");
  await page.getByRole("button", { name: "Add task" }).click();
  await expect(page.getByRole("alert")).toContainText("Can't reach the server");
});
