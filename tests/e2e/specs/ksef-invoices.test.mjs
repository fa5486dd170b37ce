// Faktury KSeF against the simulator through the relay: a buyer-side sync into IndexedDB, a
// second sync fetching only what is new, search and filters on the local copy (no KSeF call),
// the list kept across a reload, a 429 waited out by itself, and an empty list explaining why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { perTestStack, logInDemo, addCompany, PASS } from '../lib/harness.mjs';

let stack, page;
const { passed } = perTestStack((s, p) => { stack = s; page = p; });

const post = (path, body) => fetch(`${stack.simUrl}${path}`, {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
});

async function seed(nip, count, extra = {}) {
  const r = await post('/sim/inbox', { nip, count, ...extra });
  assert.equal(r.status, 201);
  return (await r.json()).ksefNumbers;
}

/** Counts the KSeF API requests the page makes through the relay (path → count). */
function countKsefCalls() {
  const calls = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (/^\/(ksef|sim)\//.test(u.pathname)) calls.push(`${r.method()} ${u.pathname}`);
  });
  return calls;
}

const count = async () => Number((await page.getByTestId('ksef-count').innerText()).match(/\d+/)[0]);

/** Clicks Synchronizuj and waits until that run has ended (the page counts finished runs). */
async function syncAndWait() {
  const runs = Number(await page.getByTestId('ksef-page').getAttribute('data-runs'));
  await page.getByTestId('ksef-sync').click();
  await page.locator(`[data-testid="ksef-page"][data-runs="${runs + 1}"]`).waitFor({ timeout: 90000 });
  await page.locator('[data-testid="ksef-progress"][data-done="true"]').waitFor({ timeout: 5000 });
}

test('a buyer sync fetches the invoices, a second one only the new ones; search and filters work locally', async () => {
  const demo = await logInDemo(page, stack);
  const seeded = await seed(demo.nip, 30, { sellerNip: '3756977049' });
  const calls = countKsefCalls();
  // Opening the page starts an automatic sync (the first for this perspective).
  await page.getByTestId('nav-faktury-ksef').click();
  assert.equal(await page.getByTestId('ksef-subject').inputValue(), 'Subject2');
  await page.locator('[data-testid="ksef-page"][data-runs="1"]').waitFor({ timeout: 90000 });
  await page.getByTestId('ksef-list').waitFor({ timeout: 30000 });
  const total = await count();
  assert.ok(total >= 30, `at least the 30 seeded invoices: ${total}`);
  assert.match(await page.getByTestId('ksef-counts').innerText(), new RegExp(`nowe: ${total}\\b`));
  assert.ok(calls.some((c) => c.startsWith('POST') && c.endsWith('/invoices/exports')), `an export: ${calls}`);
  assert.ok(calls.every((c) => / \/ksef\/sim\/(v2|storage)\//.test(c)), `only the KSeF API and its storage: ${calls}`);

  // Search and filters: on the local copy, not a single KSeF call.
  const before = calls.length;
  await page.getByTestId('ksef-search').fill(seeded[7]);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="ksef-row"]').length === 1);
  assert.equal(await page.getByTestId('ksef-row').getAttribute('data-ksef'), seeded[7]);
  await page.getByTestId('ksef-search').fill('3756977049');
  await page.waitForFunction(() => /Faktur: \d+/.test(document.querySelector('[data-testid="ksef-count"]')?.textContent));
  const bySeller = await count();
  assert.ok(bySeller >= 30 && bySeller <= total, `the seller's invoices: ${bySeller} of ${total}`);
  const rowTexts = await page.getByTestId('ksef-row').allInnerTexts();
  assert.ok(rowTexts.every((t) => t.includes('3756977049')), 'every row is that seller');
  assert.ok(rowTexts.length <= 50, 'one page of at most 50 rows');
  await page.getByTestId('ksef-search').fill('');
  await page.getByTestId('ksef-from').fill('2099-01-01');
  await page.getByTestId('ksef-from').dispatchEvent('change');
  const narrow = page.locator('[data-testid="ksef-empty-cause"][data-cause="filter"]');
  await narrow.waitFor({ timeout: 10000 });
  assert.equal(await narrow.getAttribute('data-applies'), 'true');
  await page.getByTestId('ksef-from').fill('');
  await page.getByTestId('ksef-from').dispatchEvent('change');
  await page.getByTestId('ksef-list').waitFor();
  assert.equal(calls.length, before, `no KSeF call while searching: ${calls.slice(before)}`);

  // Two new invoices arrive; the second sync stores only them.
  const fresh = await seed(demo.nip, 2, { arrivingNow: true });
  // KSeF's high-water mark lags new invoices (hwm.md): the simulator stores an invoice 2 s
  // after it arrives and its HWM trails the present by 5 s, so the two are in after 7 s.
  await new Promise((r) => setTimeout(r, 8000));
  await syncAndWait();
  await page.waitForFunction((n) => /Faktur: (\d+)/.exec(document.querySelector('[data-testid="ksef-count"]')?.textContent)?.[1] == n, total + 2);
  assert.match(await page.getByTestId('ksef-counts').innerText(), /nowe: 2\b/);
  await page.getByTestId('ksef-search').fill(fresh[1]);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="ksef-row"]').length === 1);

  // Seller perspective: nothing there, and the page says the invoices are under "Nabywca".
  await page.getByTestId('ksef-search').fill('');
  await page.getByTestId('ksef-subject').selectOption('Subject1');
  const other = page.locator('[data-testid="ksef-empty-cause"][data-cause="perspective"]');
  await other.waitFor({ timeout: 10000 });
  assert.equal(await other.getAttribute('data-applies'), 'true');
  assert.match(await other.innerText(), /Nabywca \(Podmiot 2\)/);

  // The copy survives a reload (after unlocking the vault); the automatic sync on opening
  // waits for its 15 minutes and says so, without asking KSeF.
  await page.getByTestId('ksef-subject').selectOption('Subject2');
  await page.reload();
  await page.getByTestId('unlock-passphrase').fill(PASS);
  await page.getByTestId('unlock').click();
  await page.getByTestId('ksef-list').waitFor({ timeout: 30000 });
  assert.equal(await count(), total + 2);
  const afterReload = calls.length;
  const deferred = page.getByTestId('ksef-deferred');
  await deferred.waitFor({ timeout: 30000 });
  assert.match(await deferred.innerText(), /następna automatyczna najwcześniej o \d\d:\d\d/);
  assert.ok(!calls.slice(afterReload).some((c) => c.includes('/invoices/')), `no invoice call: ${calls.slice(afterReload)}`);
  passed();
});

test('a sync cut off by a reload resumes the same export from its cursor', async () => {
  await logInDemo(page, stack);
  const calls = countKsefCalls();
  // The export takes a while: its status answers slowly, so the reload lands mid-run.
  await post('/sim/faults', { method: 'GET', path: '/v2/invoices/exports/{referenceNumber}', kind: 'delay', delayMs: 4000, count: 3 });
  await page.getByTestId('nav-faktury-ksef').click();
  // The sync runs in a worker; Playwright reports the worker's requests with the page's.
  for (let i = 0; i < 300 && !calls.some((c) => c.startsWith('POST') && c.endsWith('/invoices/exports')); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 300));
  const atReload = calls.length;
  await page.reload();
  await page.getByTestId('unlock-passphrase').fill(PASS);
  await page.getByTestId('unlock').click();
  await page.getByTestId('ksef-list').waitFor({ timeout: 90000 });
  assert.ok((await count()) > 0);
  const exports = calls.filter((c) => c.startsWith('POST') && c.endsWith('/invoices/exports'));
  assert.equal(exports.length, 1, `one export for the whole sync: ${calls}`);
  assert.ok(calls.slice(0, atReload).includes(exports[0]), `the export started before the reload: ${calls}`);
  assert.ok(calls.slice(atReload).some((c) => c.startsWith('GET') && /\/invoices\/exports\/[^/]+$/.test(c)),
    `after the reload its status was asked, not a new export: ${calls}`);
  passed();
});

test('a 429 during the sync: the page says when it continues, then continues by itself', async () => {
  await logInDemo(page, stack);
  await post('/sim/faults', { method: 'POST', path: '/v2/invoices/exports', kind: 'status', status: 429, retryAfter: 3 });
  // Opening the page starts the sync; its export is refused with 429 once.
  await page.getByTestId('nav-faktury-ksef').click();
  const wait = page.getByTestId('ksef-wait');
  await wait.waitFor({ timeout: 30000 });
  assert.match(await wait.innerText(), /KSeF ogranicza liczbę zapytań — synchronizacja wznowi się sama o \d\d:\d\d:\d\d/);
  await page.locator('[data-testid="ksef-progress"][data-done="true"]').waitFor({ timeout: 60000 });
  await page.getByTestId('ksef-list').waitFor({ timeout: 30000 });
  assert.ok((await count()) > 0);
  passed();
});

test('not logged in: Synchronizuj says to log in, the empty list names that cause (PL and EN)', async () => {
  await addCompany(page, stack.url, '5265877635', 'Firma bez logowania');
  await page.getByTestId('nav-faktury-ksef').click();
  const cause = page.locator('[data-testid="ksef-empty-cause"][data-cause="not-logged-in"]');
  await cause.waitFor({ timeout: 30000 });
  assert.equal(await cause.getAttribute('data-applies'), 'true');
  const never = page.locator('[data-testid="ksef-empty-cause"][data-cause="never-synced"]');
  assert.equal(await never.getAttribute('data-applies'), 'true');
  await page.getByTestId('ksef-sync').click();
  const err = page.getByTestId('ksef-sync-error');
  await err.waitFor({ timeout: 10000 });
  assert.match(await err.innerText(), /Zaloguj się do KSeF/);
  await page.getByTestId('lang-switch').click();
  await page.locator('[data-testid="ksef-empty-cause"][data-cause="not-logged-in"]').waitFor();
  assert.match(await cause.innerText(), /not logged in to KSeF/);
  passed();
});
