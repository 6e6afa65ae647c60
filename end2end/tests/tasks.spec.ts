import { expect, test } from "@playwright/test";
import {
  PASSWORD,
  addTask,
  freshEmail,
  signUp,
  smallQuotaServer,
  taskList,
  waitUntilInteractive,
} from "./helpers";

test("a person signs up, manages their tasks, and signs out", async ({ page }) => {
  const mutations: string[] = [];
  page.on("request", (request) => {
    const path = new URL(request.url()).pathname;
    if (["POST", "PATCH", "DELETE"].includes(request.method()) && !path.startsWith("/fn/")) {
      mutations.push(`${request.method()} ${path}`);
    }
  });

  await signUp(page);
  await waitUntilInteractive(page);
  await expect(page.getByText("No tasks yet. Add your first one above.")).toBeVisible();

  await addTask(page, "Buy milk", "Two litres, oat");
  await addTask(page, "Write report");
  await addTask(page, "Call the plumber");
  await expect(taskList(page)).toHaveCount(3);
  await expect(page.getByText("3 open · 0 done")).toBeVisible();
  await expect(page.getByText("Two litres, oat")).toBeVisible();

  await page.getByRole("checkbox", { name: "Buy milk" }).check();
  await expect(page.getByRole("checkbox", { name: "Buy milk" })).toBeChecked();
  await expect(page.getByText("2 open · 1 done")).toBeVisible();

  await page.getByRole("button", { name: "Edit Write report" }).click();
  await page.getByLabel("New title").fill("Write the quarterly report");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("checkbox", { name: "Write the quarterly report" })).toBeVisible();
  await expect(page.getByRole("checkbox", { name: "Write report", exact: true })).toHaveCount(0);

  await page.getByRole("button", { name: "Delete Call the plumber" }).click();
  await expect(page.getByRole("checkbox", { name: "Call the plumber" })).toHaveCount(0);
  await expect(taskList(page)).toHaveCount(2);

  await page.getByRole("button", { name: /^Done/ }).click();
  await expect(taskList(page)).toHaveCount(1);
  await expect(page.getByRole("checkbox", { name: "Buy milk" })).toBeVisible();
  await page.getByRole("button", { name: /^Open/ }).click();
  await expect(taskList(page)).toHaveCount(1);
  await expect(page.getByRole("checkbox", { name: "Write the quarterly report" })).toBeVisible();
  await page.getByRole("button", { name: /^All/ }).click();
  await expect(taskList(page)).toHaveCount(2);

  await page.reload();
  await expect(taskList(page)).toHaveCount(2);
  await expect(page.getByRole("checkbox", { name: "Buy milk" })).toBeChecked();
  await expect(page.getByRole("checkbox", { name: "Write the quarterly report" })).not.toBeChecked();

  // Every change the page made went to the tasks API.
  expect(mutations.length).toBeGreaterThanOrEqual(6);
  for (const mutation of mutations) {
    expect(mutation).toMatch(/^(POST|PATCH|DELETE) \/api\/tasks(\/[\w-]+)?$/);
  }

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await page.goto("/tasks");
  await expect(page).toHaveURL(/\/sign-in\?next=\/tasks$/);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
});

test("the token lives in an HttpOnly cookie that page scripts cannot read", async ({ page, context }) => {
  await signUp(page);
  await waitUntilInteractive(page);
  const visible = await page.evaluate(() => document.cookie);
  expect(visible).not.toContain("access_token");
  expect(visible).not.toContain("session_token");
  expect(visible).not.toContain("eyJ");
  const cookies = await context.cookies();
  const access = cookies.find((c) => c.name === "access_token");
  expect(access?.httpOnly).toBe(true);
  expect(access?.sameSite).toBe("Lax");
  expect(access?.value.split(".")).toHaveLength(3);
});

test("an empty title is explained next to the field", async ({ page }) => {
  await signUp(page);
  await waitUntilInteractive(page);
  await page.getByRole("button", { name: "Add task" }).click();
  await expect(page.getByText("Title can't be empty")).toBeVisible();
  await expect(page.getByLabel("Title")).toHaveAttribute("aria-invalid", "true");
  await expect(taskList(page)).toHaveCount(0);
});

test("an account at its task limit is told so, and can add again after deleting one", async ({ page, baseURL }) => {
  const server = smallQuotaServer(baseURL!);
  await page.goto(`${server}/sign-up?next=/tasks`);
  await page.getByLabel("Name").fill("Prolific");
  await page.getByLabel("Email").fill(freshEmail());
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/tasks$/);
  await waitUntilInteractive(page);
  for (const title of ["One", "Two", "Three"]) {
    await addTask(page, title);
  }
  await page.getByLabel("Title").fill("Four");
  await page.getByRole("button", { name: "Add task" }).click();
  await expect(page.getByRole("alert")).toContainText("You have 3 tasks, the most one account can keep.");
  await expect(taskList(page)).toHaveCount(3);

  await page.getByRole("button", { name: "Dismiss" }).click();
  await page.getByRole("button", { name: "Delete One" }).click();
  await expect(taskList(page)).toHaveCount(2);
  await addTask(page, "Four");
});
