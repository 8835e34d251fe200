import * as path from 'node:path';

// What the Playwright config and the tests share: where certgate listens and its data
// directory (made fresh for each run, with the --demo files in DATA_DIR/demo/).
export const PORTAL_PORT = Number(process.env.CERTGATE_E2E_PORT ?? 3317);
export const GATEWAY_PORT = Number(process.env.CERTGATE_E2E_GATEWAY_PORT ?? 3318);
export const DATA_DIR = path.join(__dirname, '.data');
