// "Wyślij zaznaczone (sesja wsadowa)" on the invoice list against the real simulator: three
// drafts in one batch session, each with its KSeF number in the list; a batch cut off before
// its close resumes after a reload in the same session, and KSeF holds each invoice once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { perTestStack, logInDemo, PASS } from '../lib/harness.mjs';

let stack, page;
const { passed } = perTestStack((s, p) => { stack = s; page = p; });

const field = (path) => page.locator(`input[name="${path}"]`);
const OPEN_PATH = /\/ksef\/sim\/v2\/sessions\/batch$/;
const CLOSE_PATH = /\/ksef\/sim\/v2\/sessions\/batch\/[^/]+\/close$/;
const KSEF_NUMBER = /^\d{10}-\d{8}-[0-9A-F]{12}-[0-9A-F]{2}$/;

async function fillInvoice(number) {
  await page.getByTestId('nav-faktury').click();
  await page.getByTestId('new-invoice').click();
  await page.getByTestId('invoice-form').waitFor({ timeout: 30000 });
  await page.waitForURL(/draft=/);
  await field('number').fill(number);
  await field('seller.address_line1').fill('ul. Prosta 1, 00-001 Warszawa');
  await field('buyer.nip').fill('5265877635');
  await field('buyer.name').fill('Kwiaciarnia Róża sp. z o.o.');
  await field('buyer.country').fill('PL');
  await field('buyer.address_line1').fill('ul. Kwiatowa 2, 30-001 Kraków');
  await field('lines[0].description').fill('Projekt logo');
  await field('lines[0].unit_price').fill('1000');
  await page.waitForTimeout(700); // the draft saves itself
}

/** Three drafts, listed and selected; counts the batch openings and the part uploads. */
async function threeSelectedDrafts(prefix) {
  const seen = { opens: 0, puts: 0, token: null };
  page.on('request', (r) => {
    if (r.method() === 'POST' && OPEN_PATH.test(r.url())) seen.opens += 1;
    if (r.method() === 'PUT' && /\/ksef\/sim\/storage\/batch\//.test(r.url())) seen.puts += 1;
  });
  page.on('response', async (r) => {
    if (/\/auth\/token\/redeem$/.test(r.url()) && r.ok()) {
      seen.token = (await r.json().catch(() => ({}))).accessToken?.token ?? seen.token;
    }
  });
  await logInDemo(page, stack);
  for (const n of [1, 2, 3]) await fillInvoice(`${prefix}/${n}/e2e`);
  await page.getByTestId('nav-faktury').click();
  await page.getByTestId('invoice-list').waitFor({ timeout: 30000 });
  const boxes = page.getByTestId('batch-select');
  assert.equal(await boxes.count(), 3, 'a checkbox on each ready draft');
  for (let i = 0; i < 3; i++) await boxes.nth(i).check();
  return seen;
}

async function allAccepted() {
  const rows = page.locator('[data-testid="invoice-row"][data-state="accepted"]');
  await page.waitForFunction(
    () => document.querySelectorAll('[data-testid="invoice-row"][data-state="accepted"]').length === 3,
    null, { timeout: 90000 });
  const numbers = [];
  for (let i = 0; i < 3; i++) numbers.push(await rows.nth(i).getByTestId('invoice-ksef').innerText());
  for (const n of numbers) assert.match(n, KSEF_NUMBER);
  assert.equal(new Set(numbers).size, 3);
  return numbers;
}

/** What the simulator holds: its batch sessions, and the invoices of the one there is. */
async function simulatorSaw(token) {
  const get = async (path) => {
    const r = await fetch(`${stack.simUrl}/v2${path}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200, path);
    return r.json();
  };
  const { sessions } = await get('/sessions?sessionType=Batch&pageSize=100');
  assert.equal(sessions.length, 1, 'exactly one batch session');
  const { invoices } = await get(`/sessions/${sessions[0].referenceNumber}/invoices?pageSize=100`);
  return invoices;
}

test('three selected drafts go in one batch session and each gets its KSeF number', async () => {
  const seen = await threeSelectedDrafts('FB');
  await page.getByTestId('send-batch').click();
  const numbers = await allAccepted();
  assert.match(await page.getByTestId('batch-progress').innerText(), /3\/3/);
  assert.equal(seen.opens, 1);
  const invoices = await simulatorSaw(seen.token);
  assert.equal(invoices.length, 3);
  assert.deepEqual(invoices.map((i) => i.ksefNumber).sort(), [...numbers].sort());
  // Sent invoices are not offered again.
  assert.equal(await page.getByTestId('batch-select').count(), 0);
  passed();
});

test('a batch cut off before its close resumes after a reload in the same session, each invoice once', async () => {
  const seen = await threeSelectedDrafts('FC');
  // The close never reaches KSeF (connection lost).
  let closes = 0;
  await page.context().route(CLOSE_PATH, (route) => {
    closes += 1;
    return closes === 1 ? route.abort('connectionreset') : route.continue();
  });
  await page.getByTestId('send-batch').click();
  const err = page.getByTestId('batch-error');
  await err.waitFor({ timeout: 60000 });
  assert.match(await err.innerText(), /nie wyśle niczego dwa razy/);
  assert.equal(await page.locator('[data-testid="invoice-row"][data-state="sending"]').count(), 3);

  await page.reload();
  await page.getByTestId('lock-screen').waitFor({ timeout: 30000 });
  await page.getByTestId('unlock-passphrase').fill(PASS);
  await page.getByTestId('unlock').click();
  await page.getByTestId('lock-screen').waitFor({ state: 'detached', timeout: 30000 });
  await page.getByTestId('nav-faktury').click();
  await allAccepted();
  assert.equal(seen.opens, 1, 'no second batch session');
  assert.equal(seen.puts, 1, 'the one part was uploaded once');
  assert.equal(closes, 2);
  const invoices = await simulatorSaw(seen.token);
  assert.equal(invoices.length, 3, 'each invoice once');
  passed();
});
