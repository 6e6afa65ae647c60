import { expect, test, type Page } from "@playwright/test";
import { PASSWORD, accountFor, addTask, freshEmail, sendVerificationLink, signUp, waitUntilInteractive } from "./helpers";

/** Records, in every page the tab opens from now on, what the Content-Security-Policy blocks. */
async function recordViolations(page: Page): Promise<void> {
  await page.addInitScript(() => {
    (window as any).violations = [];
    document.addEventListener("securitypolicyviolation", (event) => {
      (window as any).violations.push(`${event.violatedDirective} ${event.blockedURI}`);
    });
  });
}

test("the app hydrates and works under its Content-Security-Policy", async ({ page }) => {
  await recordViolations(page);
  const response = await page.goto("/sign-up");
  expect(response?.headers()["content-security-policy"]).toContain("'nonce-");

  await signUp(page);
  await waitUntilInteractive(page);
  await addTask(page, "Runs under a strict policy");
  // A page whose code is fetched only now, after hydration.
  await page.getByRole("link", { name: "Account" }).click();
  await expect(page.getByRole("heading", { name: "Your sessions" })).toBeVisible();

  expect(await page.evaluate(() => (window as any).violations)).toEqual([]);
});

test("an emailed link's page and its button work under the Content-Security-Policy", async ({ page }) => {
  await recordViolations(page);
  const email = await signUp(page, "Strict Verifier");
  const response = await page.goto(await sendVerificationLink(page, email));
  expect(response?.headers()["content-security-policy"]).toContain("'nonce-");
  await page.waitForLoadState("networkidle");
  expect(await page.evaluate(() => (window as any).violations)).toEqual([]);
  await page.getByRole("button", { name: "Confirm my address" }).click();
  await expect(page.getByRole("heading", { name: "Your email address is confirmed" })).toBeVisible();
  expect(await page.evaluate(() => (window as any).violations)).toEqual([]);
});

test("a burst of wrong passwords is stopped with the time to wait", async ({ page, request }) => {
  const email = await accountFor(request, "Target");

  await page.goto("/sign-in");
  await page.getByLabel("Email").fill(email);
  for (let attempt = 0; attempt < 5; attempt++) {
    await page.getByLabel("Password").fill(`guess number ${attempt}`);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert")).toHaveText("Invalid email or password");
  }
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText(/^Too many attempts\. Try again in \d+ seconds\.$/);
  await expect(page).toHaveURL(/\/sign-in/);
});

test("a common password is refused next to the field", async ({ page }) => {
  await page.goto("/sign-up");
  await page.getByLabel("Name").fill("Careless");
  await page.getByLabel("Email").fill(freshEmail());
  await page.getByLabel("Password").fill("password1");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByText(/one of the most common passwords/)).toBeVisible();
  await expect(page).toHaveURL(/\/sign-up/);
});

test("the app's wasm, script, styles and page chunks have content-hashed names and are cached for a year", async ({ page }) => {
  const assets: { url: string; cacheControl: string | undefined }[] = [];
  page.on("response", (response) => {
    if (new URL(response.url()).pathname.startsWith("/pkg/")) {
      assets.push({ url: response.url(), cacheControl: response.headers()["cache-control"] });
    }
  });
  await page.goto("/sign-in");
  const fetched = (file: RegExp) => assets.some((a) => file.test(new URL(a.url).pathname));
  // The app's styles, JS and wasm, the loader of lazy pages, and the sign-in page's chunk.
  for (const file of [/\/taskboard\.[^/]+\.css$/, /\/taskboard\.[^/]+\.js$/, /\/taskboard\.[^/]+\.wasm$/,
    /\/__wasm_split\.[^/]+\.js$/, /\/split_[^/]*sign_in_page[^/]*\.wasm$/]) {
    await expect.poll(() => fetched(file), { message: `fetched ${file}` }).toBe(true);
  }
  for (const asset of assets) {
    expect(asset.url).toMatch(/\/pkg\/[A-Za-z0-9_]+\.[A-Za-z0-9_-]{22}\.(css|js|wasm)$/);
    expect(asset.cacheControl).toBe("public, max-age=31536000, immutable");
  }
});

test("a page without lazy parts still preloads the chunk loader that the app's script imports", async ({ request }) => {
  const home = await (await request.get("/")).text();
  expect(home).toMatch(/<link rel="modulepreload" href="\/pkg\/__wasm_split\.[A-Za-z0-9_-]{22}\.js">/);
});
