import { expect, test } from "@playwright/test";
import { addTask, signUp, taskList, waitUntilInteractive } from "./helpers";

test("a second user sees none of the first user's tasks", async ({ browser }) => {
  const alice = await browser.newPage();
  await signUp(alice, "Alice");
  await waitUntilInteractive(alice);
  await addTask(alice, "Alice's secret plan");
  await expect(taskList(alice)).toHaveCount(1);

  const bobContext = await browser.newContext();
  const bob = await bobContext.newPage();
  await signUp(bob, "Bob");
  await waitUntilInteractive(bob);
  await expect(bob.getByText("No tasks yet. Add your first one above.")).toBeVisible();
  await expect(bob.getByText("Alice's secret plan")).toHaveCount(0);
  await expect(bob.getByText("Signed in as")).toContainText("Bob");

  await bobContext.close();
  await alice.close();
});
