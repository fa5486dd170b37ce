// Benchmark (not a test: nothing here passes or fails): Faktury KSeF syncing 10,000 invoices
// from the simulator through the relay into IndexedDB (in the sync worker) until the list shows
// them, in headless Chromium. Prints, as medians of RUNS runs (a fresh simulator, browser
// context and database each): the time from opening the page to the full list, the page's JS
// heap after it, the frame rate while paging and scrolling the list, and the longest main-thread
// task (PerformanceObserver `longtask`) during the sync and the paging. Baselines measured in
// the same run: the same number of records written into IndexedDB by a plain script in one
// transaction (the floor of the store step), and the frame rate of the idle page.
//
//   KWIT_SIM_BIN=… KWIT_RELAY_BIN=… KWIT_DIST=… node tests/e2e/bench/sync.mjs
import { Stack, launchBrowser, logInDemo } from '../lib/harness.mjs';

const RUNS = Number(process.env.RUNS || 3);
const COUNT = Number(process.env.COUNT || 10000);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (xs, unit, digits = 0) =>
  `median ${median(xs).toFixed(digits)} ${unit} (min ${Math.min(...xs).toFixed(digits)}, max ${Math.max(...xs).toFixed(digits)})`;

/** Frames drawn in `ms` while `work` runs (requestAnimationFrame count). */
async function frameRate(page, ms, work) {
  await page.evaluate(() => {
    window.__frames = 0;
    window.__counting = true;
    const tick = () => { if (window.__counting) { window.__frames++; requestAnimationFrame(tick); } };
    requestAnimationFrame(tick);
  });
  const t0 = Date.now();
  await work();
  const left = ms - (Date.now() - t0);
  if (left > 0) await new Promise((r) => setTimeout(r, left));
  const frames = await page.evaluate(() => { window.__counting = false; return window.__frames; });
  return (frames * 1000) / Math.max(ms, Date.now() - t0);
}

async function oneRun(browser) {
  const stack = await new Stack().start();
  const context = await browser.newContext({ serviceWorkers: 'block' });
  const page = await context.newPage();
  await page.addInitScript(() => {
    window.__longest = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longest = Math.max(window.__longest, e.duration);
    }).observe({ type: 'longtask', buffered: true });
  });
  try {
    const demo = await logInDemo(page, stack);
    const seeded = await fetch(`${stack.simUrl}/sim/inbox`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ nip: demo.nip, count: COUNT }),
    });
    if (seeded.status !== 201) throw new Error(`seeding: ${seeded.status}`);
    await page.evaluate(() => { window.__longest = 0; });
    const t0 = Date.now();
    await page.getByTestId('nav-faktury-ksef').click();
    await page.locator('[data-testid="ksef-page"][data-runs="1"]').waitFor({ timeout: 600000 });
    await page.waitForFunction((n) => Number(/Faktur: (\d+)/.exec(document.querySelector('[data-testid="ksef-count"]')?.textContent)?.[1]) >= n, COUNT, { timeout: 600000 });
    const syncMs = Date.now() - t0;
    const longestSync = await page.evaluate(() => window.__longest);
    const heap = await page.evaluate(() => performance.memory?.usedJSHeapSize || 0);
    await page.evaluate(() => { window.__longest = 0; });
    const idleFps = await frameRate(page, 1000, async () => {});
    const listFps = await frameRate(page, 2000, async () => {
      for (let i = 0; i < 5; i++) {
        await page.getByTestId('ksef-next').click();
        await page.mouse.wheel(0, 1500);
        await page.mouse.wheel(0, -1500);
      }
    });
    const longestList = await page.evaluate(() => window.__longest);
    // Baseline: the same number of records, about the size of one kept invoice, put into
    // IndexedDB in one transaction by a plain script.
    const floorMs = await page.evaluate(async (n) => {
      const db = await new Promise((ok, err) => {
        const r = indexedDB.open('bench-floor', 1);
        r.onupgradeneeded = () => r.result.createObjectStore('x');
        r.onsuccess = () => ok(r.result);
        r.onerror = () => err(r.error);
      });
      const body = 'x'.repeat(3000);
      const t = performance.now();
      await new Promise((ok, err) => {
        const tx = db.transaction('x', 'readwrite');
        const os = tx.objectStore('x');
        for (let i = 0; i < n; i++) os.put({ companyNip: '5265877635', row: { n: i }, json: body + i }, `k${i}`);
        tx.oncomplete = ok;
        tx.onerror = () => err(tx.error);
      });
      return performance.now() - t;
    }, COUNT);
    return { syncMs, heap, idleFps, listFps, longestSync, longestList, floorMs };
  } finally {
    await context.close();
    await stack.stop();
  }
}

const browser = await launchBrowser();
const runs = [];
try {
  for (let i = 0; i < RUNS; i++) runs.push(await oneRun(browser));
} finally {
  await browser.close();
}
const col = (k) => runs.map((r) => r[k]);
console.log(`bench: sync of ${COUNT} invoices until listed: ${fmt(col('syncMs'), 'ms')}`);
console.log(`bench:   baseline, ${COUNT} records put into IndexedDB in one transaction: ${fmt(col('floorMs'), 'ms')} (sync ${(median(col('syncMs')) / median(col('floorMs'))).toFixed(1)}×)`);
console.log(`bench: page JS heap after the sync: ${fmt(col('heap').map((b) => b / 1048576), 'MiB', 1)}`);
console.log(`bench: frame rate paging and scrolling the list: ${fmt(col('listFps'), 'fps')}; idle page ${fmt(col('idleFps'), 'fps')}`);
// The longtask observer reports only tasks over 50 ms: 0 means none was that long.
const task = (xs) => (Math.max(...xs) === 0 ? 'no task over 50 ms' : fmt(xs, 'ms'));
console.log(`bench: longest main-thread task: during the sync ${task(col('longestSync'))}; while paging ${task(col('longestList'))}`);
