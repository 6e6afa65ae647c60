// Time from navigation to an interactive task list, in headless Debian chromium.
//   node end2end/perf/time-to-interactive.mjs <base URL> <email> <password> [runs]
// Each run opens a new browser context (empty cache, signed in through the API) and
// loads /tasks; "interactive" is the moment the hydrated page enables "Add task".
// Prints the median and the slowest run, cold (new context) and warm (reload).
import { chromium } from "@playwright/test";

const [base, email, password, runsArg] = process.argv.slice(2);
const runs = Number(runsArg ?? 10);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

async function interactiveAfterNavigation(page) {
  await page.waitForFunction(
    () => document.querySelector("form.new-task button[type=submit]")?.disabled === false,
    null,
    { polling: "raf", timeout: 30_000 },
  );
  return page.evaluate(() => performance.now());
}

const cold = [];
const warm = [];
for (let run = 0; run < runs; run++) {
  const context = await browser.newContext({ baseURL: base });
  const signedIn = await context.request.post("/api/auth/sign-in/email", { data: { email, password } });
  if (!signedIn.ok()) throw new Error(`sign-in failed: ${signedIn.status()}`);
  const page = await context.newPage();
  await page.goto("/tasks");
  cold.push(await interactiveAfterNavigation(page));
  await page.reload();
  warm.push(await interactiveAfterNavigation(page));
  await context.close();
}
await browser.close();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms) => `${ms.toFixed(0)} ms`;
console.log(`time to interactive over ${runs} loads: cold median ${fmt(median(cold))} (slowest ${fmt(Math.max(...cold))}), warm median ${fmt(median(warm))} (slowest ${fmt(Math.max(...warm))})`);
