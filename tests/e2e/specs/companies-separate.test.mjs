// One company at a time (issue 13.1): drafts, invoices, the form and KSeF sessions belong to
// one company. Another company's drafts are never listed or opened; an invoice goes out only
// under its own company's login, with that company's NIP; changing a company's NIP ends its
// session. Against the real simulator and relay in headless Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { perTestStack } from '../lib/harness.mjs';

let stack, page;
const { passed } = perTestStack((s, p) => { stack = s; page = p; });

const PASS = 'tajne hasło 2026';
const B_NIP = '1234563218';
const field = (path) => page.locator(`input[name="${path}"]`);
const SEND_PATH = /\/ksef\/sim\/v2\/sessions\/online\/[^/]+\/invoices$/;

/** Adds a company on Firmy (it becomes the current one). */
async function addCompany(nip, name) {
  await page.getByTestId('nav-companies').click();
  const input = page.getByTestId('company-nip');
  await input.waitFor({ timeout: 30000 });
  await input.fill(nip);
  await page.getByTestId('company-name').fill(name);
  await page.getByTestId('company-save').click();
  await page.getByTestId('company-switcher').locator('option', { hasText: name })
    .waitFor({ state: 'attached', timeout: 30000 });
}

async function switchTo(name) {
  const select = page.getByTestId('company-switcher');
  const value = await select.locator('option', { hasText: name }).getAttribute('value');
  await select.selectOption(value);
}

/** Sets up the vault (first time) and logs the current company in with `token`. */
async function logIn(token, firstTime) {
  await page.getByTestId('nav-access').click();
  if (firstTime) {
    await page.getByTestId('vault-passphrase').fill(PASS);
    await page.getByTestId('vault-passphrase-again').fill(PASS);
    await page.getByTestId('vault-create').click();
  }
  await page.getByTestId('token-label').fill('Token');
  await page.getByTestId('token-value').fill(token);
  await page.getByTestId('token-add').click();
  await page.getByTestId('default-badge').waitFor({ timeout: 15000 });
  await page.getByTestId('login').click();
  await page.getByTestId('session-nip').waitFor({ timeout: 30000 });
}

/** A new invoice of the current company, filled and saved; returns its draft id. */
async function newInvoice(number) {
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
  await page.waitForTimeout(100);
  await page.locator('[data-testid="save-status"][data-state="saved"]').waitFor({ timeout: 10000 });
  return new URL(page.url()).searchParams.get('draft');
}

async function listedNumbers() {
  await page.getByTestId('nav-faktury').click();
  await page.locator('[data-testid="invoice-list"], [data-testid="no-invoices"]').first()
    .waitFor({ timeout: 30000 });
  return page.getByTestId('invoice-row').getByTestId('invoice-title').allInnerTexts();
}

test('two companies: each lists and opens only its own drafts; another company\'s draft address is refused', async () => {
  const demo = await stack.demo();
  await page.goto(`${stack.url}/#/companies`);
  await addCompany(demo.nip, 'Firma A');
  await addCompany(B_NIP, 'Firma B');
  const b = await newInvoice('FV/B/1');
  assert.equal(await field('seller.nip').inputValue(), B_NIP);
  assert.equal(await field('seller.nip').isDisabled(), true, 'the seller NIP is the company\'s');

  // Switching the company on the form opens that company's draft, not B's.
  await page.getByTestId('nav-fakturowanie').click();
  await switchTo('Firma A');
  await page.waitForFunction((nip) =>
    document.querySelector('input[name="seller.nip"]')?.value === nip, demo.nip);
  assert.equal(await field('number').inputValue(), '');
  const a = await newInvoice('FV/A/1');
  assert.notEqual(a, b);
  assert.deepEqual(await listedNumbers(), ['FV/A/1']);
  await switchTo('Firma B');
  await page.getByTestId('invoice-row').first().waitFor({ timeout: 10000 });
  assert.deepEqual(await listedNumbers(), ['FV/B/1']);

  // The tab brings back the draft this company was editing — after a reload too.
  await page.getByTestId('nav-fakturowanie').click();
  await page.waitForFunction(() =>
    document.querySelector('input[name="number"]')?.value === 'FV/B/1');
  await page.reload();
  await page.getByTestId('invoice-form').waitFor({ timeout: 30000 });
  assert.equal(await field('number').inputValue(), 'FV/B/1');

  // A's draft by its own address while B is selected: not opened, with the way to A.
  await page.goto(`${stack.url}/?draft=${a}#/fakturowanie`);
  const other = page.getByTestId('form-other-company');
  await other.waitFor({ timeout: 30000 });
  assert.match(await other.innerText(), /należy do firmy Firma A/);
  assert.equal(await page.getByTestId('invoice-form').count(), 0);
  await page.getByTestId('switch-to-owner').click();
  await page.waitForFunction(() =>
    document.querySelector('input[name="number"]')?.value === 'FV/A/1');
  assert.match(await page.getByTestId('company-switcher').locator('option:checked').innerText(), /Firma A/);
  passed();
});

test('an invoice goes out only under its own company\'s login; nothing is sent otherwise', async () => {
  const demo = await stack.demo();
  let posts = 0;
  await page.route(SEND_PATH, (route) => {
    if (route.request().method() === 'POST') posts += 1;
    return route.continue();
  });
  await page.goto(`${stack.url}/#/companies`);
  await addCompany(B_NIP, 'Firma B');
  await addCompany(demo.nip, 'Firma A');
  await logIn(demo.ksefToken, true);

  // B is selected, A's login is in memory: B's invoice cannot go out in A's session. The
  // button says so before any click, with the way to log in; nothing is sent.
  await switchTo('Firma B');
  await newInvoice('FV/B/1');
  const blocked = page.getByTestId('send-blocked');
  await blocked.waitFor({ timeout: 30000 });
  assert.match(await blocked.innerText(), /nie jest zalogowana do KSeF/);
  assert.equal(await page.getByTestId('send-ksef').isDisabled(), true);
  // Even a forced click (the button re-enabled in the page) sends nothing.
  await page.getByTestId('send-ksef').evaluate((b) => { b.disabled = false; b.click(); });
  await page.getByTestId('send-refused').waitFor({ timeout: 30000 });
  assert.match(await page.getByTestId('send-refused').innerText(), /nie jest zalogowana do KSeF/);
  assert.equal(await page.getByTestId('send-panel').getAttribute('data-state'), 'draft');
  await blocked.getByTestId('go-access').click();
  await page.getByTestId('token-label').waitFor({ timeout: 30000 });
  assert.equal(posts, 0, 'nothing left the browser');

  // B logs in with its own token; then B's invoice goes out in B's context.
  const minted = await (await fetch(`${stack.simUrl}/sim/tokens`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ nip: B_NIP, permissions: ['InvoiceWrite', 'InvoiceRead'] }),
  })).json();
  await logIn(minted.token, false);
  assert.match(await page.getByTestId('session-nip').innerText(), new RegExp(B_NIP));
  await page.getByTestId('nav-fakturowanie').click();
  await page.waitForFunction(() =>
    document.querySelector('input[name="number"]')?.value === 'FV/B/1');
  await page.getByTestId('send-ksef').click();
  const number = page.getByTestId('ksef-number');
  await number.waitFor({ timeout: 60000 });
  assert.match(await number.innerText(), new RegExp(`^${B_NIP}-`));
  assert.equal(posts, 1);

  // Back to A: A's own login comes back (kept per company), and A's invoice goes out under A.
  await switchTo('Firma A');
  await newInvoice('FV/A/1');
  await page.getByTestId('send-ksef').click();
  await number.waitFor({ timeout: 60000 });
  assert.match(await number.innerText(), new RegExp(`^${demo.nip}-`));
  assert.equal(posts, 2);
  passed();
});

test('with a read-only token "Wyślij do KSeF" is disabled beforehand, saying which permission is missing', async () => {
  const demo = await stack.demo();
  await page.goto(`${stack.url}/#/companies`);
  await addCompany(demo.nip, 'Firma A');
  const minted = await (await fetch(`${stack.simUrl}/sim/tokens`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ nip: demo.nip, permissions: ['InvoiceRead'] }),
  })).json();
  await logIn(minted.token, true);
  await newInvoice('FV/A/1');
  const blocked = page.getByTestId('send-blocked');
  await blocked.waitFor({ timeout: 30000 });
  assert.match(await blocked.innerText(), /Brak uprawnienia InvoiceWrite/);
  assert.match(await blocked.innerText(), /poproś właściciela firmy o jego nadanie/);
  assert.equal(await page.getByTestId('send-ksef').isDisabled(), true);
  passed();
});

test('changing a company\'s NIP ends its KSeF session; its draft takes the new NIP', async () => {
  const demo = await stack.demo();
  await page.goto(`${stack.url}/#/companies`);
  await addCompany(demo.nip, 'Firma A');
  await logIn(demo.ksefToken, true);
  await newInvoice('FV/A/1');

  await page.getByTestId('nav-companies').click();
  await page.getByRole('button', { name: /Edytuj/ }).first().click();
  await page.getByTestId('company-nip').fill(B_NIP);
  await page.getByTestId('company-save').click();
  await page.getByTestId('company-switcher').locator('option', { hasText: B_NIP })
    .waitFor({ state: 'attached', timeout: 30000 });

  await page.getByTestId('nav-access').click();
  await page.getByTestId('login').waitFor({ timeout: 30000 });
  assert.equal(await page.getByTestId('session-nip').count(), 0, 'no session after the NIP change');

  await page.getByTestId('nav-fakturowanie').click();
  await page.waitForFunction((nip) =>
    document.querySelector('input[name="seller.nip"]')?.value === nip, B_NIP);
  assert.equal(await field('number').inputValue(), 'FV/A/1');
  await page.getByTestId('send-blocked').waitFor({ timeout: 30000 });
  assert.equal(await page.getByTestId('send-ksef').isDisabled(), true);
  // After a reload the old login does not come back either.
  await page.reload();
  await page.getByTestId('unlock-passphrase').fill(PASS);
  await page.getByTestId('unlock').click();
  await page.getByTestId('nav-access').click();
  await page.getByTestId('login').waitFor({ timeout: 30000 });
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(await page.getByTestId('session-nip').count(), 0);
  passed();
});
