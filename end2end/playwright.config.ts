import { defineConfig, devices } from "@playwright/test";

// The app under test: the server binary that `cargo leptos build` made, on its own port
// with a fresh SQLite database each run. E2E_BASE_URL points the suite elsewhere.
const port = Number(process.env.E2E_PORT ?? 3200);
const baseURL = process.env.E2E_BASE_URL ?? `http://127.0.0.1:${port}`;
const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: chromium,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  projects: [
    { name: "desktop", use: { ...devices["Desktop Chrome"] } },
    { name: "phone", use: { ...devices["Pixel 7"] }, testMatch: /tasks\.spec\.ts/ },
  ],
  webServer: process.env.E2E_BASE_URL
    ? undefined
    : {
        command: "rm -rf target/e2e && exec target/debug/server",
        cwd: "..",
        url: `${baseURL}/health`,
        reuseExistingServer: false,
        timeout: 60_000,
        env: {
          DATABASE_URL: "sqlite://target/e2e/taskboard.db?mode=rwc",
          JWT_SECRET_KEY: "end-to-end-test-secret-not-for-production-0123456789",
          LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
          LEPTOS_SITE_ROOT: "target/site",
          RUST_LOG: "warn",
          // Every test signs up and in from the same address; the per-account limit on
          // failed sign-ins stays at its default and is tested.
          RATE_LIMIT_SIGN_UP: "1000/1m",
          RATE_LIMIT_SIGN_IN: "1000/1m",
        },
      },
});
