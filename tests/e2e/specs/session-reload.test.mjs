// The KSeF login and the online session survive a reload: sealed in IndexedDB, restored after
// unlocking, so a send cut off by a reload finishes by status checks without a new login and
// without sending the invoice again. Logout drops them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { perTestStack, addCompany, setUpVault, PASS } from '../lib/harness.mjs';

let stack, page;
const { passed } = perTestStack((s, p) => { stack = s; page = p; });

const field = (path) => page.locator(`input[name="${path}"]`);
const SEND_PATH = /\/ksef\/sim\/v2\/sessions\/online\/[^/]+\/invoices$/;
const LOGIN_PATH = /\/ksef\/sim\/v2\/auth\/(ksef-token|xades-signature|token\/redeem)$/;

/** Every store of the app database as JSON, and localStorage. */
const dumpBrowserStorage = () => page.evaluate(() => new Promise((resolve, reject) => {
  const req = indexedDB.open('kwit');
  req.onerror = () => reject(req.error);
  req.onsuccess = () => {
    const db = req.result;
    const names = [...db.objectStoreNames];
    const tx = db.transaction(names);
    const out = {};
    let left = names.length;
    for (const n of names) {
      const all = tx.objectStore(n).getAll();
      all.onsuccess = () => {
        out[n] = all.result;
        if (--left === 0) { db.close(); resolve(JSON.stringify({ idb: out, local: { ...localStorage } })); }
      };
    }
  };
}));

async function unlock() {
  await page.getByTestId('lock-screen').waitFor({ timeout: 30000 });
  await page.getByTestId('unlock-passphrase').fill(PASS);
  await page.getByTestId('unlock').click();
  await page.getByTestId('lock-screen').waitFor({ state: 'detached', timeout: 30000 });
}

test('a send cut off by a reload reaches "Przyjęta" after unlocking: no new login, one invoice POST; logout forgets the session', async () => {
  const demo = await stack.demo();
  let logins = 0;
  let posts = 0;
  const tokens = [];
  page.on('request', (r) => { if (r.method() === 'POST' && LOGIN_PATH.test(r.url())) logins += 1; });
  page.on('response', async (r) => {
    if (/\/auth\/token\/(redeem|refresh)$/.test(r.url()) && r.ok()) {
      const body = await r.json().catch(() => ({}));
      for (const k of ['accessToken', 'refreshToken']) if (body[k]?.token) tokens.push(body[k].token);
    }
  });
  // The invoice reaches KSeF but the answer never reaches the browser.
  await page.route(SEND_PATH, async (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    posts += 1;
    await route.fetch();
    return route.abort('connectionreset');
  });

  await addCompany(page, stack.url, demo.nip, demo.companyName || 'Demo');
  await setUpVault(page, demo.ksefToken);
  await page.getByTestId('login').click();
  await page.getByTestId('session-nip').waitFor({ timeout: 30000 });
  const loginsBefore = logins;
  assert.ok(loginsBefore >= 2, 'logged in once (token + redeem)');

  await page.getByTestId('nav-faktury').click();
  await page.getByTestId('new-invoice').click();
  await page.getByTestId('invoice-form').waitFor({ timeout: 30000 });
  await page.waitForURL(/draft=/);
  await field('number').fill('FV/7/e2e');
  await field('seller.address_line1').fill('ul. Prosta 1, 00-001 Warszawa');
  await field('buyer.nip').fill('5265877635');
  await field('buyer.name').fill('Kwiaciarnia Róża sp. z o.o.');
  await field('buyer.country').fill('PL');
  await field('buyer.address_line1').fill('ul. Kwiatowa 2, 30-001 Kraków');
  await field('lines[0].description').fill('Projekt logo');
  await field('lines[0].unit_price').fill('1000');
  await page.getByTestId('send-ksef').click();
  await page.getByTestId('send-error').waitFor({ timeout: 60000 });
  assert.equal(await page.getByTestId('send-panel').getAttribute('data-state'), 'sending');
  assert.equal(posts, 1);

  // The login and online session are stored, sealed: no token in clear anywhere.
  await page.waitForTimeout(500);
  const stored = await dumpBrowserStorage();
  const parsed = JSON.parse(stored);
  assert.equal(parsed.idb.sessions.length, 1, 'the session is kept');
  assert.ok(tokens.length >= 2, 'saw the access and refresh tokens');
  for (const t of tokens) assert.ok(!stored.includes(t), 'no KSeF token in clear in IndexedDB or localStorage');

  // Reload mid-way: locked; unlocking brings the login back and the send finishes by status.
  await page.unroute(SEND_PATH);
  await page.route(SEND_PATH, (route) => {
    if (route.request().method() === 'POST') posts += 1;
    return route.continue();
  });
  await page.reload();
  await unlock();
  const ksef = page.getByTestId('ksef-number');
  await ksef.waitFor({ timeout: 60000 });
  assert.match(await ksef.innerText(), /^\d{10}-\d{8}-[0-9A-F]{12}-[0-9A-F]{2}$/);
  assert.equal(await page.getByTestId('send-state').innerText(), 'Przyjęta');
  assert.equal(posts, 1, 'the invoice was POSTed exactly once');
  assert.equal(logins, loginsBefore, 'no new login after the reload');
  await page.getByTestId('nav-access').click();
  await page.getByTestId('session-nip').waitFor({ timeout: 30000 });
  assert.equal(await page.getByTestId('session-nip').innerText(), demo.nip);

  // Logout drops the stored session: after a reload and unlock, not logged in.
  await page.getByTestId('logout').click();
  await page.getByTestId('login').waitFor({ timeout: 30000 });
  await page.waitForTimeout(500);
  assert.equal(JSON.parse(await dumpBrowserStorage()).idb.sessions.length, 0, 'forgotten at logout');
  await page.reload();
  await unlock();
  await page.getByTestId('login').waitFor({ timeout: 30000 });
  assert.match(await page.getByTestId('session-state').innerText(), /Nie zalogowano/);
  assert.equal(logins, loginsBefore);
  passed();
});
