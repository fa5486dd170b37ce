// The release SPA's first-load transfer (wasm + JS + CSS, brotli) must stay within 400 KB.
// Sizes are deterministic, so this is a test and not a benchmark.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';

const BUDGET = 400 * 1024;

test('first-load transfer (brotli) is within 400 KB', () => {
  const dist = process.env.KWIT_DIST;
  assert.ok(dist, 'KWIT_DIST must point at the trunk release build');
  const files = readdirSync(dist).filter((f) => /\.(wasm|js|css)$/.test(f) && f !== 'sw.js');
  assert.ok(files.some((f) => f.endsWith('.wasm')), 'the build has a wasm module');
  let total = 0;
  for (const f of files) {
    const raw = readFileSync(join(dist, f));
    const br = brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
    console.log(`size: ${f}: ${raw.length} B raw, ${br} B brotli`);
    total += br;
  }
  console.log(`size: first load ${total} B brotli of ${BUDGET} B budget (${((100 * total) / BUDGET).toFixed(1)} %)`);
  assert.ok(total <= BUDGET, `first load is ${total} B, over the ${BUDGET} B budget`);
});
