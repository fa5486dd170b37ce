// Transfer sizes (brotli, quality 11) of the release SPA. Sizes are deterministic, so these are
// tests and not benchmarks.
// - First load = what index.html references (the app's JS, wasm and CSS): ≤ 400 KB.
// - The certificate signer worker (kwit-signer: loader shim, JS glue, wasm) is fetched only when
//   a certificate is used; it has its own budget: measured size + ~10 % headroom.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { printBreakdown } from '../lib/wasm-breakdown.mjs';

const FIRST_LOAD_BUDGET = 400 * 1024;
// Measured 2026-11-24: 251,114 B brotli; budget = that rounded up with ~10 % headroom.
const WORKER_BUDGET = 270 * 1024;
const WORKER_FILES = ['kwit-signer_loader.js', 'kwit-signer.js', 'kwit-signer_bg.wasm'];
// - The kwit-sync worker module (Faktury KSeF sync, batch sends, every invoice's FA(3) XML) is
//   fetched on the first sync or send. Measured 2026-12-03: 268,247 B brotli; budget = that
//   with ~7 % headroom.
const SYNC_BUDGET = 280 * 1024;
const SYNC_FILES = ['kwit-sync_loader.js', 'kwit-sync.js', 'kwit-sync_bg.wasm'];

const dist = () => {
  const d = process.env.KWIT_DIST;
  assert.ok(d, 'KWIT_DIST must point at the trunk release build');
  return d;
};

function brotli(file) {
  const raw = readFileSync(join(dist(), file));
  const br = brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  console.log(`size: ${file}: ${raw.length} B raw, ${br} B brotli`);
  return br;
}

/** Local .js/.wasm/.css files named in index.html (links, the module script's imports). */
function firstLoadFiles() {
  const html = readFileSync(join(dist(), 'index.html'), 'utf8');
  const names = new Set();
  for (const m of html.matchAll(/["'(]\.?\/?([\w.-]+\.(?:wasm|js|css))(?:[?#][^"')]*)?["')]/g)) names.add(m[1]);
  return [...names];
}

test('first load (what index.html references, brotli) is within 400 KB', () => {
  const files = firstLoadFiles();
  assert.ok(files.some((f) => f.endsWith('_bg.wasm')), `index.html loads a wasm module: ${files}`);
  assert.ok(files.some((f) => f.endsWith('.js')), 'index.html loads the JS glue');
  assert.ok(files.some((f) => f.endsWith('.css')), 'index.html loads the stylesheet');
  for (const f of [...WORKER_FILES, ...SYNC_FILES]) assert.ok(!files.includes(f), `${f} must not be part of the first load`);
  let total = 0;
  for (const f of files) total += brotli(f);
  console.log(`size: first load ${total} B brotli of ${FIRST_LOAD_BUDGET} B budget (${((100 * total) / FIRST_LOAD_BUDGET).toFixed(1)} %)`);
  // What the main module is made of (its release build before wasm-bindgen keeps the names).
  const target = process.env.CARGO_TARGET_DIR || fileURLToPath(new URL('../../../target', import.meta.url));
  const named = join(target, 'wasm32-unknown-unknown', 'release', 'kwit-web.wasm');
  if (existsSync(named)) printBreakdown('kwit-web (first load)', named);
  assert.ok(total <= FIRST_LOAD_BUDGET, `first load is ${total} B, over the ${FIRST_LOAD_BUDGET} B budget`);
});

test('the certificate signer worker (loaded on first certificate use) stays within its budget', () => {
  for (const f of WORKER_FILES) assert.ok(existsSync(join(dist(), f)), `${f} is built`);
  let total = 0;
  for (const f of WORKER_FILES) total += brotli(f);
  console.log(`size: signer worker ${total} B brotli of ${WORKER_BUDGET} B budget (${((100 * total) / WORKER_BUDGET).toFixed(1)} %)`);
  assert.ok(total <= WORKER_BUDGET, `the signer worker is ${total} B, over its ${WORKER_BUDGET} B budget`);
});

test('the sync worker (loaded on the first Faktury KSeF sync) stays within its budget', () => {
  for (const f of SYNC_FILES) assert.ok(existsSync(join(dist(), f)), `${f} is built`);
  let total = 0;
  for (const f of SYNC_FILES) total += brotli(f);
  console.log(`size: sync worker ${total} B brotli of ${SYNC_BUDGET} B budget (${((100 * total) / SYNC_BUDGET).toFixed(1)} %)`);
  assert.ok(total <= SYNC_BUDGET, `the sync worker is ${total} B, over its ${SYNC_BUDGET} B budget`);
});
