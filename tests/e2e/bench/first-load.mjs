// Benchmark (not a test: nothing here passes or fails): the first load of the release SPA in
// headless Chromium through the relay on localhost, in fresh browser contexts (empty cache).
// Prints the bytes transferred per asset type with the encoding the browser got, and the time
// until the first input accepts a key — median, min and max of RUNS contexts — beside the same
// time for a baseline page (one <input>, served by the same relay) measured in the same run.
//
//   KWIT_SIM_BIN=… KWIT_RELAY_BIN=… KWIT_DIST=… node tests/e2e/bench/first-load.mjs
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { Stack, launchBrowser } from '../lib/harness.mjs';

const RUNS = Number(process.env.RUNS || 10);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (xs) => `median ${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`;

async function waitFor(url) {
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(url)).ok) return; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not come up`);
}

/** Navigates a fresh context to `url` and returns { ms, bytes } until `selector` takes a key. */
async function firstInput(browser, url, selector) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const bytes = {};
  page.on('requestfinished', async (req) => {
    const r = await req.response();
    const sizes = await req.sizes();
    const type = (req.url().match(/\.(wasm|js|css)(\?|$)/) || [null, 'html/other'])[1];
    const enc = r ? (await r.headerValue('content-encoding')) || 'identity' : '?';
    const key = `${type} (${enc})`;
    bytes[key] = (bytes[key] || 0) + sizes.responseBodySize;
  });
  const t0 = performance.now();
  await page.goto(url, { waitUntil: 'commit' });
  const input = page.locator(selector).first();
  await input.waitFor({ state: 'visible', timeout: 30000 });
  await input.press('7');
  await page.waitForFunction((s) => document.querySelector(s)?.value === '7', selector, { polling: 'raf' });
  const ms = performance.now() - t0;
  await context.close();
  return { ms, bytes };
}

const stack = await new Stack().start();
// The baseline: a page with one input, served by a second relay from its own directory.
const baseDir = mkdtempSync(join(tmpdir(), 'kwit-bench-base-'));
writeFileSync(join(baseDir, 'index.html'), '<!doctype html><html><body><input id="q"></body></html>');
const basePort = stack.relayPort + 1000;
const baseRelay = spawn(process.env.KWIT_RELAY_BIN, ['--listen', `127.0.0.1:${basePort}`, '--spa-dir', baseDir], { stdio: 'ignore' });
await waitFor(`http://127.0.0.1:${basePort}/healthz`);
const browser = await launchBrowser();
try {
  const app = [];
  const base = [];
  let bytes = {};
  // Interleaved, so a burst of other load on the machine hits both alike.
  for (let i = 0; i < RUNS; i++) {
    base.push((await firstInput(browser, `http://127.0.0.1:${basePort}/`, '#q')).ms);
    const r = await firstInput(browser, `${stack.url}/#/companies`, '[data-testid="company-nip"]');
    app.push(r.ms);
    bytes = r.bytes;
  }
  console.log(`first load: bytes transferred (last run): ${Object.entries(bytes).map(([k, v]) => `${k} ${v} B`).join(', ')}`);
  const total = Object.values(bytes).reduce((a, b) => a + b, 0);
  console.log(`first load: ${total} B in all`);
  console.log(`first load: app until the first input takes a key: ${fmt(app)}, ${RUNS} fresh contexts`);
  console.log(`first load: baseline page (one input, same relay): ${fmt(base)}`);
  console.log(`first load: ratio app/baseline ${(median(app) / median(base)).toFixed(1)}×`);
} finally {
  await browser.close();
  baseRelay.kill('SIGTERM');
  await stack.stop();
}
