// Prepares target/site for embedding (scripts/build.sh runs it between the front-end and the
// server build). Every text or wasm file gets a brotli (.br, quality 11) and a gzip (.gz, level 9) copy, which
// the server sends by Accept-Encoding instead of compressing per request. (The page names the
// wasm and its JS glue by content hash itself: server/src/assets.rs.)
// Node's zlib is used because node is already installed for Playwright and the wasm-opt build.
import { readdirSync, readFileSync, statSync, unlinkSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const site = process.argv[2] ?? 'target/site';
const COMPRESSIBLE = /\.(wasm|js|css|json|svg|html|txt)$/;

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

// Compressed copies; stale ones (their file gone) are removed.
let raw = 0;
let br = 0;
for (const path of files(site)) {
  if (/\.(br|gz)$/.test(path)) {
    if (!existsSync(path.slice(0, -3))) unlinkSync(path);
    continue;
  }
  if (!COMPRESSIBLE.test(path)) continue;
  const bytes = readFileSync(path);
  const brotli = brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
      [constants.BROTLI_PARAM_MODE]: path.endsWith('.wasm') ? constants.BROTLI_MODE_GENERIC : constants.BROTLI_MODE_TEXT,
    },
  });
  writeFileSync(`${path}.br`, brotli);
  writeFileSync(`${path}.gz`, gzipSync(bytes, { level: 9 }));
  raw += bytes.length;
  br += brotli.length;
}
console.error(`compress-site: ${(raw / 1000).toFixed(1)} KB -> ${(br / 1000).toFixed(1)} KB brotli`);
