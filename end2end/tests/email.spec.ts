import { expect, test } from "@playwright/test";
import { linkMailedTo, PASSWORD, sendVerificationLink, signIn, signUp } from "./helpers";

const NEW_PASSWORD = "a passphrase chosen after forgetting";

test("a forgotten password is reset from the emailed link, and the old password and session stop working", async ({
  browser,
}) => {
  const old = await browser.newPage();
  const email = await signUp(old, "Forgetful Ada");

  const page = await browser.newPage();
  await page.goto("/sign-in");
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await expect(page.getByRole("heading", { name: "Forgot your password?" })).toBeVisible();
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Email me a link" }).click();
  await expect(page.getByText("a link to choose a new password is on its way")).toBeVisible();

  await page.goto(await linkMailedTo(email));
  await expect(page).toHaveURL(/\/reset-password\?token=/);
  await page.getByLabel("New password", { exact: true }).fill("short");
  await page.getByRole("button", { name: "Set my new password" }).click();
  await expect(page.getByText("Use at least 8 characters")).toBeVisible();
  await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Set my new password" }).click();
  await expect(page).toHaveURL(/\/sign-in\?reason=reset/);
  await expect(page.getByText("every session of your account was signed out")).toBeVisible();

  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByText("Invalid email or password")).toBeVisible();
  await page.getByLabel("Password").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Your tasks" })).toBeVisible();

  await old.goto("/tasks");
  await expect(old).toHaveURL(/\/sign-in/);
});

test("a used reset link says so and offers a new one", async ({ page }) => {
  const email = await signUp(page, "Twice Ada");
  await page.context().clearCookies();
  await page.goto("/forgot-password");
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Email me a link" }).click();
  await expect(page.getByText("is on its way")).toBeVisible();
  const link = await linkMailedTo(email);
  await page.goto(link);
  await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Set my new password" }).click();
  await expect(page).toHaveURL(/\/sign-in\?reason=reset/);

  await page.goto(link);
  await expect(page).toHaveURL(/\/reset-password\?error=INVALID_TOKEN/);
  await expect(page.getByRole("alert").filter({ hasText: "This link has been used" })).toBeVisible();
  await page.getByRole("link", { name: "Email me a new link" }).click();
  await expect(page.getByRole("heading", { name: "Forgot your password?" })).toBeVisible();
});

test("an address is verified from the banner's link, once its page's button is pressed", async ({ page, browser }) => {
  const email = await signUp(page, "Unverified Ada");
  const banner = page.getByRole("region", { name: "Confirm your email address" });
  await expect(banner).toContainText(`Your email address ${email} is not confirmed yet.`);
  const link = await sendVerificationLink(page, email);

  // A mail gateway fetches every link it passes on, signed in nowhere: that changes nothing.
  const gateway = await browser.newContext({ javaScriptEnabled: false });
  const scanned = await gateway.newPage();
  await scanned.goto(link);
  await expect(scanned.getByText(`Verify the address ${email} for your Taskboard account.`)).toBeVisible();
  await gateway.close();
  await page.goto("/tasks");
  await expect(banner).toContainText(`Your email address ${email} is not confirmed yet.`);

  await page.goto(link);
  await expect(page.getByRole("heading", { name: "Verify your email address" })).toBeVisible();
  await expect(page.getByText(`Verify the address ${email} for your Taskboard account.`)).toBeVisible();
  await page.getByRole("button", { name: "Confirm my address" }).click();
  await expect(page).toHaveURL(/\/email-verified$/);
  await expect(page.getByRole("heading", { name: "Your email address is confirmed" })).toBeVisible();
  await expect(banner).toHaveCount(0);
  await page.goto("/tasks");
  await expect(page.getByRole("heading", { name: "Your tasks" })).toBeVisible();
  await expect(banner).toHaveCount(0);
});

test("an emailed link's page confirms before the wasm has loaded, and a used link has no button", async ({ browser }) => {
  const setup = await browser.newPage();
  const email = await signUp(setup, "No Script Verifier");
  const link = await sendVerificationLink(setup, email);

  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(link);
  await expect(page.getByText(`Verify the address ${email} for your Taskboard account.`)).toBeVisible();
  await page.getByRole("button", { name: "Confirm my address" }).click();
  await expect(page).toHaveURL(/\/email-verified$/);
  await expect(page.getByRole("heading", { name: "Your email address is confirmed" })).toBeVisible();

  await page.goto(link);
  await expect(page.getByRole("heading", { name: "That link did not work" })).toBeVisible();
  await expect(page.getByRole("alert").filter({ hasText: "This link has been used" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Confirm my address" })).toHaveCount(0);
  await context.close();

  await setup.goto("/tasks");
  await expect(setup.getByRole("region", { name: "Confirm your email address" })).toHaveCount(0);
});

test("the forms for a forgotten password work before the wasm has loaded", async ({ browser }) => {
  const setup = await browser.newPage();
  const email = await signUp(setup, "No Script Ada");
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/forgot-password");
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Email me a link" }).click();
  await expect(page.getByText("is on its way")).toBeVisible();
  await page.goto(await linkMailedTo(email));
  await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Set my new password" }).click();
  await expect(page).toHaveURL(/\/sign-in\?reason=reset/);
  await context.close();
});

test("a new address is used once its emailed link is opened", async ({ page }) => {
  const email = await signUp(page, "Moving Ada");
  const moved = `moved-${email}`;
  await page.goto("/account");
  await expect(page.getByRole("button", { name: "Issue token" })).toBeEnabled();
  const form = page.getByRole("form", { name: "Change your email address" });
  await form.getByLabel("New email address").fill(moved);
  await form.getByLabel("Your password").fill("not my password");
  await form.getByRole("button", { name: "Send the link" }).click();
  await expect(form.getByText("Invalid password")).toBeVisible();
  await form.getByLabel("Your password").fill(PASSWORD);
  await form.getByRole("button", { name: "Send the link" }).click();
  await expect(page.getByText("Check the new address: the link is on its way.")).toBeVisible();

  await page.goto(await linkMailedTo(moved));
  await expect(page.getByRole("heading", { name: "Use a new email address" })).toBeVisible();
  await expect(page.getByText(`Move your Taskboard account to ${moved}.`)).toBeVisible();
  await expect(page.getByText(`from ${email}`)).toHaveCount(0);
  await page.getByRole("button", { name: "Use this address" }).click();
  await expect(page.getByRole("heading", { name: "Your email address is confirmed" })).toBeVisible();
  await page.context().clearCookies();
  await signIn(page, moved);
});
