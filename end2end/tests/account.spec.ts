import { expect, test, type Page } from "@playwright/test";
import { PASSWORD, signIn, signUp } from "./helpers";

const NEW_PASSWORD = "a brand new passphrase for the browser";

function settings(page: Page) {
  return page.getByRole("region", { name: "Your account" });
}

/** Waits until the account page has hydrated: its token button is enabled only then. */
async function waitUntilInteractive(page: Page): Promise<void> {
  await expect(page.getByRole("button", { name: "Issue token" })).toBeEnabled();
}

test("a person changes their name and the header says it at once", async ({ page }) => {
  await signUp(page, "Ada Byron");
  await page.goto("/account");
  await waitUntilInteractive(page);
  const profile = settings(page).getByRole("form", { name: "Profile" });
  await expect(profile.getByLabel("Name")).toHaveValue("Ada Byron");
  await profile.getByLabel("Name").fill("Ada Lovelace");
  await profile.getByRole("button", { name: "Save name" }).click();
  await expect(profile.getByText("Name saved.")).toBeVisible();
  await expect(page.getByText("Signed in as Ada Lovelace")).toBeVisible();
  await page.goto("/tasks");
  await expect(page.getByText("Signed in as Ada Lovelace")).toBeVisible();
});

test("a changed password signs in, and the old password and the other browser's session stop working", async ({
  browser,
}) => {
  const first = await browser.newPage();
  const email = await signUp(first, "Two Browsers");
  const second = await browser.newPage();
  await signIn(second, email);

  await first.goto("/account");
  await waitUntilInteractive(first);
  const form = settings(first).getByRole("form", { name: "Change your password" });
  await form.getByLabel("Current password").fill("not the password");
  await form.getByLabel("New password").fill(NEW_PASSWORD);
  await form.getByRole("button", { name: "Change password" }).click();
  await expect(form.getByText("Invalid password")).toBeVisible();

  await form.getByLabel("Current password").fill(PASSWORD);
  await form.getByLabel("New password").fill(NEW_PASSWORD);
  await expect(form.getByLabel("Sign out my other sessions")).toBeChecked();
  await form.getByRole("button", { name: "Change password" }).click();
  await expect(form.getByText("Password changed.")).toBeVisible();

  await second.goto("/tasks");
  await expect(second).toHaveURL(/\/sign-in/);
  await first.goto("/tasks");
  await expect(first.getByRole("heading", { name: "Your tasks" })).toBeVisible();

  await second.getByLabel("Email").fill(email);
  await second.getByLabel("Password").fill(PASSWORD);
  await second.getByRole("button", { name: "Sign in" }).click();
  await expect(second.getByText("Invalid email or password")).toBeVisible();
  await second.getByLabel("Password").fill(NEW_PASSWORD);
  await second.getByRole("button", { name: "Sign in" }).click();
  await expect(second.getByRole("heading", { name: "Your tasks" })).toBeVisible();
});

test("a deleted account is gone: signing in with it is refused", async ({ page }) => {
  const email = await signUp(page, "Leaving Soon");
  await page.goto("/account");
  await waitUntilInteractive(page);
  const form = settings(page).getByRole("form", { name: "Delete your account" });
  await expect(settings(page).getByText("It cannot be undone.")).toBeVisible();
  await form.getByLabel("Password").fill(PASSWORD);
  await form.getByRole("button", { name: "Delete my account" }).click();
  await expect(page).toHaveURL(/\/sign-in\?reason=deleted/);
  await expect(page.getByText("Your account and its tasks have been deleted.")).toBeVisible();

  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByText("Invalid email or password")).toBeVisible();
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the name is changed by a plain form post", async ({ page }) => {
    await signUp(page, "No Script");
    await page.goto("/account");
    const profile = settings(page).getByRole("form", { name: "Profile" });
    await profile.getByLabel("Name").fill("Still No Script");
    await profile.getByRole("button", { name: "Save name" }).click();
    await expect(page.getByText("Signed in as Still No Script")).toBeVisible();
  });

  test("the password is changed by a plain form post, and a wrong one is explained", async ({ page }) => {
    const email = await signUp(page, "No Script Password");
    await page.goto("/account");
    const form = settings(page).getByRole("form", { name: "Change your password" });
    await form.getByLabel("Current password").fill("not the password");
    await form.getByLabel("New password").fill(NEW_PASSWORD);
    await form.getByRole("button", { name: "Change password" }).click();
    await expect(form.getByText("Invalid password")).toBeVisible();
    await form.getByLabel("Current password").fill(PASSWORD);
    await form.getByLabel("New password").fill(NEW_PASSWORD);
    await form.getByRole("button", { name: "Change password" }).click();
    await expect(page).toHaveURL(/\/account/);
    await page.context().clearCookies();
    await page.goto("/sign-in");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("heading", { name: "Your tasks" })).toBeVisible();
  });

  test("the account is deleted by a plain form post", async ({ page }) => {
    const email = await signUp(page, "No Script Leaver");
    await page.goto("/account");
    const form = settings(page).getByRole("form", { name: "Delete your account" });
    await form.getByLabel("Password").fill(PASSWORD);
    await form.getByRole("button", { name: "Delete my account" }).click();
    await expect(page.getByText("Your account and its tasks have been deleted.")).toBeVisible();
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByText("Invalid email or password")).toBeVisible();
  });
});
