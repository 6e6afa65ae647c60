import { expect, test, type Page } from "@playwright/test";
import { PASSWORD, signUp, totpCode } from "./helpers";

// Two-factor sign-in in the browser: turned on from the account page with an
// authenticator app (its codes computed here from the key the page shows), then every
// sign-in asks for a code or a backup code, with and without JavaScript.

function section(page: Page) {
  return page.getByRole("region", { name: "Two-factor sign-in" });
}

/** Turns two-factor sign-in on for the signed-in person: the app's key and the backup codes. */
async function turnOn(page: Page): Promise<{ secret: string; backupCodes: string[] }> {
  await page.goto("/account");
  await expect(page.getByRole("button", { name: "Issue token" })).toBeEnabled();
  const turnOnForm = section(page).getByRole("form", { name: "Turn on two-factor sign-in" });
  await turnOnForm.getByLabel("Password").fill(PASSWORD);
  await turnOnForm.getByRole("button", { name: "Turn on" }).click();
  await expect(section(page).getByRole("img", { name: "QR code of your authenticator key" })).toBeVisible();
  const secret = (await section(page).getByTestId("totp-secret").textContent())!.trim();
  const backupCodes = (await section(page).getByTestId("backup-codes").locator("code").allTextContents()).map(
    (code) => code.trim(),
  );
  expect(backupCodes).toHaveLength(10);
  const confirm = section(page).getByRole("form", { name: "Confirm your authenticator app" });
  await confirm.getByLabel("Code from the app").fill(totpCode(secret));
  await confirm.getByRole("button", { name: "Confirm and turn on" }).click();
  await expect(section(page)).toContainText("On: signing in asks for a code");
  return { secret, backupCodes };
}

async function signOut(page: Page) {
  await page.getByRole("button", { name: "Sign out" }).first().click();
  await expect(page.getByRole("link", { name: "Sign in" }).first()).toBeVisible();
}

async function passwordStep(page: Page, email: string) {
  await page.goto("/sign-in?next=/tasks");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/two-factor\?next=%2Ftasks$/);
}

test("a person turns on two-factor sign-in, then signs in with a code and with a backup code", async ({ page }) => {
  const email = await signUp(page, "Two Factor");
  const { secret, backupCodes } = await turnOn(page);
  await signOut(page);

  await passwordStep(page, email);
  const codeForm = page.getByRole("form", { name: "Authenticator code" });
  await codeForm.getByLabel("Code").fill("000000");
  await codeForm.getByRole("button", { name: "Sign in" }).click();
  await expect(codeForm.getByRole("alert")).toContainText("Invalid code");
  await codeForm.getByLabel("Code").fill(totpCode(secret, 1));
  await codeForm.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Your tasks" })).toBeVisible();

  await page.goto("/account");
  await signOut(page);
  await passwordStep(page, email);
  await page.getByText("Lost your phone? Use a backup code").click();
  const backupForm = page.getByRole("form", { name: "Backup code" });
  await backupForm.getByLabel("Backup code").fill(backupCodes[0]);
  await backupForm.getByRole("button", { name: "Sign in with a backup code" }).click();
  await expect(page.getByRole("heading", { name: "Your tasks" })).toBeVisible();
  await page.goto("/account");
  await expect(section(page)).toContainText("9 backup codes left.");
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the code step of a sign-in works as a plain form", async ({ browser }) => {
    const scripted = await browser.newContext({ javaScriptEnabled: true });
    const withScript = await scripted.newPage();
    const email = await signUp(withScript, "No Script");
    const { secret } = await turnOn(withScript);
    await scripted.close();

    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await passwordStep(page, email);
    const codeForm = page.getByRole("form", { name: "Authenticator code" });
    await codeForm.getByLabel("Code").fill(totpCode(secret, 1));
    await codeForm.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/\/tasks$/);
    await expect(page.getByRole("heading", { name: "Your tasks" })).toBeVisible();
    await context.close();
  });
});
