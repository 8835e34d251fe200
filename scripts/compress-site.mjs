// Prepares target/site for embedding (scripts/build.sh runs it between the front-end and the
// server build):
// 1. The wasm-split loader (pkg/__wasm_split.*.js) fetches its chunks as `./<name>.wasm`; it is
//    rewritten to ask for `./<name>.<hash>.wasm`, the first 12 hex digits of the chunk's SHA-256,
//    so that the server can serve the chunks as immutable (server/src/assets.rs checks the hash).
//    The JS files keep their names: the loader imports `./certgate.js` by that name.
// 2. Every text or wasm file gets a brotli (.br, quality 11) and a gzip (.gz, level 9) copy,
//    which the server sends by Accept-Encoding instead of compressing per request.
// Node's zlib is used because node is already installed for Playwright and the wasm-opt build.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, unlinkSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const site = process.argv[2] ?? 'target/site';
const pkg = join(site, 'pkg');
const COMPRESSIBLE = /\.(wasm|js|css|json|svg|html|txt)$/;

const hash12 = (bytes) => createHash('sha256').update(bytes).digest('hex').slice(0, 12);

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

// 1. Hashed chunk names in the split loader.
if (existsSync(pkg)) {
  for (const name of readdirSync(pkg).filter((n) => /^__wasm_split\..*\.js$/.test(n))) {
    const path = join(pkg, name);
    const source = readFileSync(path, 'utf8');
    const rewritten = source.replace(/new URL\("\.\/([A-Za-z0-9_]+)\.wasm", import\.meta\.url\)/g, (whole, stem) => {
      const chunk = join(pkg, `${stem}.wasm`);
      return existsSync(chunk) ? `new URL("./${stem}.${hash12(readFileSync(chunk))}.wasm", import.meta.url)` : whole;
    });
    if (rewritten !== source) writeFileSync(path, rewritten);
  }
}

// 2. Compressed copies; stale ones (their file gone) are removed.
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
