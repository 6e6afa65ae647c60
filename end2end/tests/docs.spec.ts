import { expect, test } from "@playwright/test";
import { randomUUID } from "node:crypto";
import { PASSWORD, freshEmail } from "./helpers";

test("a developer authorizes /docs with a JWT and lists their own tasks from the page", async ({ page, request }) => {
  // The caller, made through the API as a script would: a session token, a task, a JWT.
  const email = freshEmail();
  const signedUp = await request.post("/api/auth/sign-up/email", {
    data: { name: "Docs Reader", email, password: PASSWORD },
  });
  expect(signedUp.ok()).toBeTruthy();
  const sessionToken = signedUp.headers()["set-auth-token"];
  const { token: jwt } = await (
    await request.get("/api/auth/token", { headers: { Authorization: `Bearer ${sessionToken}` } })
  ).json();
  const title = `Read the docs ${randomUUID()}`;
  const created = await request.post("/api/tasks", {
    headers: { Authorization: `Bearer ${jwt}` },
    data: { title },
  });
  expect(created.status()).toBe(201);

  const policyViolations: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy/i.test(message.text())) {
      policyViolations.push(message.text());
    }
  });
  // This browser has no cookies: the pasted JWT is the only credential.
  await page.goto("/docs/");
  await expect(page.getByRole("heading", { name: /Taskboard API/ })).toBeVisible();

  await page.getByRole("button", { name: "Authorize" }).first().click();
  const bearer = page.locator(".auth-container").filter({ hasText: "bearer_jwt" });
  await bearer.getByRole("textbox").fill(jwt);
  await bearer.getByRole("button", { name: "Apply credentials" }).click();
  await expect(bearer.getByRole("button", { name: /Logout|Remove authorization/ })).toBeVisible();
  await bearer.getByRole("button", { name: "Close", exact: true }).click();

  const list = page.locator("#operations-tasks-list");
  await list.locator(".opblock-summary").click();
  await list.getByRole("button", { name: "Try it out" }).click();
  await list.getByRole("button", { name: "Execute" }).click();

  const answer = list.locator(".live-responses-table");
  await expect(answer.locator("tbody .response-col_status")).toHaveText("200");
  await expect(answer.locator("tbody .response-col_description")).toContainText(title);
  expect(policyViolations).toEqual([]);
});

test("/docs without a token shows the API's 401 with its bearer challenge", async ({ page }) => {
  await page.goto("/docs/");
  const me = page.locator("#operations-auth-me");
  await me.locator(".opblock-summary").click();
  await me.getByRole("button", { name: "Try it out" }).click();
  await me.getByRole("button", { name: "Execute" }).click();
  const answer = me.locator(".live-responses-table");
  await expect(answer.locator("tbody .response-col_status")).toHaveText(/401/);
  await expect(answer).toContainText("Not authenticated");
  await expect(answer).toContainText(/www-authenticate: Bearer/i);
});
