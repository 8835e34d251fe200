import { defineConfig } from '@playwright/test';
import * as path from 'node:path';
import { DATA_DIR, GATEWAY_PORT, PORTAL_PORT } from './e2e-env';

// The tests drive the shipped binary (target/release/certgate, site embedded) with demo data
// in a fresh data directory, in Debian's Chromium: Playwright cannot download browsers here.
// The ports and the data directory are shared with the tests (e2e-env.ts): the seed story
// calls the gateway itself, with the demo's certificates and the gateway's generated CA.
const port = PORTAL_PORT;
const dataDir = DATA_DIR;
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
    command: `rm -rf "${dataDir}" && "${binary}" serve --demo --data-dir "${dataDir}" --portal-addr 127.0.0.1:${port} --gateway-addr 127.0.0.1:${GATEWAY_PORT}`,
    url: `http://127.0.0.1:${port}/readyz`,
    reuseExistingServer: false,
    timeout: 30_000,
    stdout: 'pipe',
    stderr: 'pipe',
  },
});
