import { expect, test } from "@playwright/test";
import { signUp } from "./helpers";

test("a read-only token issued on the account page reads, cannot write, is listed apart from the sessions, and stops working when revoked", async ({
  page,
  context,
  request,
  baseURL,
}) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: baseURL });
  await signUp(page, "Script Writer");
  await page.goto("/account");
  const api = page.getByRole("region", { name: "Use the API" });
  await expect(api.getByText(`BASE='${new URL(baseURL!).origin}'`)).toBeVisible();
  await expect(api.getByText("/api/auth/sign-in/email")).toBeVisible();
  await expect(api.getByRole("link", { name: "API reference" })).toHaveAttribute("href", "/docs");
  await expect(api.getByText("accepts it until it expires, so choose the shortest lifetime that works")).toBeVisible();
  await expect(api.getByText("so signing out of the browser that issued it does not end it")).toBeVisible();
  await expect(page.getByText("and revokes your API tokens")).toBeVisible();

  await api.getByLabel("Access").selectOption({ label: "Read only (tasks:read)" });
  await api.getByLabel("Expires after").selectOption({ label: "1 hour" });
  await api.getByRole("button", { name: "Issue token" }).click();
  await expect(api.getByText("Copy this token now: it is shown only once.")).toBeVisible();
  const field = api.getByRole("textbox", { name: "API token" });
  const token = await field.inputValue();
  expect(token.split(".")).toHaveLength(3);
  await api.getByRole("button", { name: "Copy" }).click();
  await expect(api.getByRole("button", { name: "Copied" })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);

  const headers = { Authorization: `Bearer ${token}` };
  expect((await request.get("/api/tasks", { headers })).status()).toBe(200);
  const write = await request.post("/api/tasks", { headers, data: { title: "Written by a script" } });
  expect(write.status()).toBe(403);

  // Its session is listed under "Your API tokens", not among the browsers signed in.
  const tokens = api.getByRole("list", { name: "API tokens" }).getByRole("listitem");
  await expect(api.getByRole("heading", { name: "Your API tokens" })).toBeVisible();
  await expect(tokens).toHaveCount(1);
  await expect(tokens).toContainText("API token (tasks:read)");
  const sessions = page.getByRole("list", { name: "Sessions" }).getByRole("listitem");
  await expect(sessions).toHaveCount(1);
  await expect(sessions.filter({ hasText: "API token" })).toHaveCount(0);

  await page.reload();
  await expect(api.getByRole("textbox", { name: "API token" })).toHaveCount(0);
  await expect(tokens).toHaveCount(1);
  await tokens.getByRole("button", { name: /^Revoke API token \(tasks:read\), issued / }).click();
  await expect(tokens).toHaveCount(0);
  await expect(api.getByRole("heading", { name: "Your API tokens" })).toHaveCount(0);
  await expect(sessions).toHaveCount(1);
  expect((await request.get("/api/tasks", { headers })).status()).toBe(401);
});
