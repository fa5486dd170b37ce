// Trunk post_build hook: writes a brotli (quality 11) and a gzip (level 9) copy next to every
// text and wasm asset of the build, so the relay serves them precompressed (tower-http's
// ServeDir picks `.br`/`.gz` by Accept-Encoding) instead of sending 1.3 MB of wasm raw.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) throw new Error('TRUNK_STAGING_DIR is not set: run through trunk build');
for (const name of readdirSync(dir)) {
  if (!/\.(wasm|js|css|html|svg)$/.test(name)) continue;
  const raw = readFileSync(join(dir, name));
  writeFileSync(join(dir, `${name}.br`), brotliCompressSync(raw, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length },
  }));
  writeFileSync(join(dir, `${name}.gz`), gzipSync(raw, { level: 9 }));
}
