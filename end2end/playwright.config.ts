import { defineConfig, devices } from "@playwright/test";
import { DATA_DIR, SERVER_BINARY } from "./tests/helpers";

// The app under test: the server binary that `cargo leptos build --split` made (E2E_SERVER
// names another, such as target/server-release/server after a release build), on its own
// port with a fresh SQLite database each run. E2E_BASE_URL points the suite elsewhere.
const serverBinary = SERVER_BINARY;
const port = Number(process.env.E2E_PORT ?? 3200);
const baseURL = process.env.E2E_BASE_URL ?? `http://127.0.0.1:${port}`;
const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** The server binary on `serverPort` with a fresh database in `dir` and extra settings. */
function server(serverPort: number, dir: string, env: Record<string, string>) {
  return {
    command: `rm -rf ${dir} && exec ${serverBinary}`,
    cwd: "..",
    url: `http://127.0.0.1:${serverPort}/health`,
    reuseExistingServer: false,
    timeout: 60_000,
    env: {
      DATABASE_URL: `sqlite://${dir}/taskboard.db?mode=rwc`,
      JWT_SECRET_KEY: "end-to-end-test-secret-not-for-production-0123456789",
      LEPTOS_SITE_ADDR: `127.0.0.1:${serverPort}`,
      LEPTOS_SITE_ROOT: "target/site",
      RUST_LOG: "warn",
      ...env,
    },
  };
}

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
    { name: "phone", use: { ...devices["Pixel 7"] }, testMatch: /(tasks|accessibility)\.spec\.ts/ },
  ],
  webServer: process.env.E2E_BASE_URL
    ? undefined
    : [
        server(port, DATA_DIR, {
          // Every test signs up and in from the same address; the per-account limit on
          // failed sign-ins stays at its default and is tested.
          RATE_LIMIT_SIGN_UP: "1000/1m",
          RATE_LIMIT_SIGN_IN: "1000/1m",
          // Every test asks for its emails from the same address too; the limits per
          // recipient and per account stay at their defaults.
          RATE_LIMIT_EMAIL_REQUESTS: "1000/1m",
          // A frontend on another origin, nine ports up, may call the API with the
          // person's cookies: see `crossOriginFrontends` in tests/helpers.ts.
          CORS_ALLOWED_ORIGINS: `http://127.0.0.1:${port + 9}`,
        }),
        // Access tokens that expire two seconds after they are issued, for the tests of
        // refreshing on an open page.
        // On the next port: see `shortTokenServer` in tests/helpers.ts.
        server(port + 1, "target/e2e-short-tokens", {
          JWT_EXPIRES_IN: "2s",
          JWT_LEEWAY_SECONDS: "0",
        }),
        // Three tasks per account at most: see `smallQuotaServer` in tests/helpers.ts.
        server(port + 2, "target/e2e-small-quota", {
          MAX_TASKS_PER_USER: "3",
        }),
      ],
});
