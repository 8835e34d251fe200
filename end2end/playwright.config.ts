import { defineConfig } from '@playwright/test';
import * as path from 'node:path';

// The tests drive the shipped binary (target/release/certgate, site embedded) with demo data
// in a fresh data directory, in Debian's Chromium: Playwright cannot download browsers here.
const port = Number(process.env.CERTGATE_E2E_PORT ?? 3317);
const dataDir = path.join(__dirname, '.data');
const binary = path.join(__dirname, '..', 'target', 'release', 'certgate');

export default defineConfig({
  testDir: './tests',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: 'off',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  webServer: {
    command: `rm -rf "${dataDir}" && "${binary}" serve --demo --data-dir "${dataDir}" --portal-addr 127.0.0.1:${port} --gateway-addr 127.0.0.1:0`,
    url: `http://127.0.0.1:${port}/readyz`,
    reuseExistingServer: false,
    timeout: 30_000,
    stdout: 'pipe',
    stderr: 'pipe',
  },
});
