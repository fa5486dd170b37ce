// Fakturowanie: drafts survive a reload, live totals, validation messages next to the fields.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { perTestStack, addCompany } from '../lib/harness.mjs';

let stack, page;
const { passed } = perTestStack((s, p) => { stack = s; page = p; });

const field = (path) => page.locator(`input[name="${path}"]`);

/** Adds the demo company (invoices are issued in a company's name). */
async function addDemoCompany() {
  await addCompany(page, stack.url, (await stack.demo()).nip, 'Demo');
}

async function openForm() {
  await page.goto(`${stack.url}/#/fakturowanie`);
  await page.getByTestId('invoice-form').waitFor({ timeout: 30000 });
}

test('without a company the form says to add one first, with the way there', async () => {
  await page.goto(`${stack.url}/#/fakturowanie`);
  const msg = page.getByTestId('form-no-company');
  await msg.waitFor({ timeout: 30000 });
  assert.match(await msg.innerText(), /Najpierw dodaj firmę/);
  await msg.getByRole('link').click();
  await page.getByTestId('company-nip').waitFor({ timeout: 10000 });
  passed();
});

test('rates and payment methods in the user\'s language; the preview shows the payment; no 404 on load', async () => {
  const missing = [];
  page.on('response', (r) => { if (r.status() === 404) missing.push(r.url()); });
  await addDemoCompany();
  await openForm();
  await field('lines[0].unit_price').fill('1234.5');
  await field('lines[0].quantity').fill('1000');
  await page.locator('select[data-field="payment.method"]').selectOption('6');
  await field('payment.due_date').fill('2026-12-31');
  await field('payment.bank_account').fill('61109010140000071219812874');
  const preview = page.getByTestId('preview');
  assert.match(await preview.innerText(), /1000 szt/);
  assert.match(await preview.innerText(), /1\s234,50\szł/);
  assert.match(await preview.innerText(), /23%/);
  const payment = await page.getByTestId('preview-payment').innerText();
  assert.match(payment, /Forma płatności: przelew/);
  assert.match(payment, /Termin płatności: 2026-12-31/);
  assert.match(payment, /Numer rachunku: 61109010140000071219812874/);
  assert.match(await page.locator('select[data-field="lines[0].rate"]').innerText(), /zwolnione/);

  await page.getByTestId('lang-switch').click();
  assert.match(await page.locator('select[data-field="payment.method"]').innerText(), /bank transfer/);
  assert.match(await page.locator('select[data-field="lines[0].rate"]').innerText(), /exempt/);
  assert.doesNotMatch(await page.locator('select[data-field="lines[0].rate"]').innerText(), /zwolnione/);
  assert.match(await page.getByTestId('preview-payment').innerText(), /Payment method: bank transfer/);
  assert.deepEqual(missing, [], 'every request on load is answered');
  passed();
});

test('a draft is saved within a second of typing and comes back after a reload', async () => {
  await addDemoCompany();
  await openForm();
  await page.waitForURL(/draft=/);
  await field('buyer.name').fill('Kwiaciarnia Róża');
  await field('lines[0].description').fill('Projekt logo');
  await field('lines[0].unit_price').fill('1000');
  await field('lines[0].quantity').fill('2');
  // Live per-rate totals (23% is the default rate).
  // Amounts the Polish way: thousands apart, a decimal comma, zł.
  await page.getByTestId('total-net').filter({ hasText: /^2\s000,00\szł$/ }).first().waitFor();
  assert.match(await page.getByTestId('total-vat').first().innerText(), /^460,00\szł$/);
  assert.match(await page.getByTestId('total-gross').first().innerText(), /^2\s460,00\szł$/);
  assert.equal(await page.getByTestId('total-rate-23').count() > 0, true, 'a row for the 23% rate');

  await page.waitForTimeout(1000); // the brief: stored within a second of the last change
  const url = page.url();
  await page.reload();
  await page.getByTestId('invoice-form').waitFor({ timeout: 30000 });
  assert.equal(page.url(), url, 'the draft id stays in the address');
  assert.equal(await field('buyer.name').inputValue(), 'Kwiaciarnia Róża');
  assert.equal(await field('lines[0].description').inputValue(), 'Projekt logo');
  assert.equal(await field('lines[0].quantity').inputValue(), '2');
  await page.getByTestId('total-gross').filter({ hasText: /^2\s460,00\szł$/ }).first().waitFor();
  assert.match(await page.getByTestId('preview-buyer').innerText(), /Kwiaciarnia Róża/);

  // The list shows it as a draft.
  await page.goto(`${stack.url}/#/faktury`);
  const row = page.getByTestId('invoice-row');
  await row.first().waitFor({ timeout: 30000 });
  assert.equal(await row.count(), 1);
  assert.equal(await row.first().getAttribute('data-state'), 'draft');
  assert.match(await row.first().innerText(), /Kwiaciarnia Róża/);
  assert.match(await row.first().innerText(), /Szkic/);
  passed();
});

test('validation messages appear next to the wrong fields and go away when fixed', async () => {
  const demo = await stack.demo();
  await addDemoCompany();
  await openForm();
  await field('buyer.nip').fill('1234567890');
  await page.getByTestId('check-invoice').click();

  const nipError = page.locator('label:has(input[name="buyer.nip"]) [data-testid="error-buyer.nip"]');
  await nipError.waitFor();
  assert.match(await nipError.innerText(), /NIP/);
  assert.equal(await field('buyer.nip').getAttribute('aria-invalid'), 'true');
  const descError = page.locator('label:has(input[name="lines[0].description"]) [data-testid="error-lines[0].description"]');
  assert.equal(await descError.innerText(), 'To pole jest wymagane.');
  assert.match(await page.getByTestId('form-errors').innerText(), /Popraw zaznaczone pola/);

  await field('buyer.nip').fill(demo.nip);
  await page.getByTestId('error-buyer.nip').waitFor({ state: 'detached' });
  assert.equal(await field('buyer.nip').getAttribute('aria-invalid'), 'false');
  await field('lines[0].description').fill('Usługa');
  await page.getByTestId('error-lines[0].description').waitFor({ state: 'detached' });

  // The same messages in English.
  await page.getByRole('button', { name: 'English' }).click();
  await field('seller.name').fill('');
  const sellerError = page.getByTestId('error-seller.name');
  await sellerError.waitFor();
  assert.equal(await sellerError.innerText(), 'This field is required.');
  passed();
});

test('a negative quantity is flagged and left out of the totals; an overlong text says the limit', async () => {
  await addDemoCompany();
  await openForm();
  await field('lines[0].description').fill('Projekt');
  await field('lines[0].unit_price').fill('1000');
  await page.getByTestId('add-line').click();
  await field('lines[1].description').fill('Rabat wpisany jako minus');
  await field('lines[1].quantity').fill('-3');
  await field('lines[1].unit_price').fill('1000');
  await page.getByTestId('check-invoice').click();
  await page.getByTestId('error-lines[1].quantity').waitFor();
  // 1 000 net + 23 % = 1 230,00; the flagged line is not subtracted (no −3 690,00).
  await page.waitForFunction(() =>
    document.querySelector('[data-testid="total-gross"]')?.innerText.replace(/\s/g, '') === '1230,00zł',
  null, { timeout: 15000 });
  assert.doesNotMatch(await page.getByTestId('totals').first().innerText(), /−|-\d/);

  await field('number').fill('X'.repeat(300));
  const numberError = page.getByTestId('error-number');
  await numberError.waitFor();
  assert.match(await numberError.innerText(), /Tekst jest za długi: 300 znaków, a można najwyżej 256/);
  passed();
});

test('numbers come from the company series in IndexedDB: they survive a reload and differ across invoices', async () => {
  const demo = await stack.demo();
  await page.goto(`${stack.url}/#/companies`);
  await page.getByTestId('company-nip').fill(demo.nip);
  await page.getByTestId('company-name').fill('Demo');
  await page.getByTestId('company-save').click();
  await page.getByTestId('company-saved').waitFor({ timeout: 30000 });
  // A series left in localStorage by an earlier version continues (moved once).
  await page.evaluate((nip) => localStorage.setItem(`kwit.series.${nip}`,
    JSON.stringify({ pattern: 'FV/{n}/{MM}/{YYYY}', last: [41, new Date().toISOString().slice(0, 10)] })), demo.nip);

  const expected = async (n) => {
    const [y, m] = (await field('issue_date').inputValue()).split('-');
    return `FV/${n}/${m}/${y}`;
  };
  await openForm();
  await page.waitForURL(/draft=/);
  await page.getByTestId('assign-number').click();
  const first = await expected(42);
  await page.waitForFunction((v) => document.querySelector('input[name="number"]').value === v, first, { timeout: 15000 });
  assert.equal(await page.evaluate((nip) => localStorage.getItem(`kwit.series.${nip}`), demo.nip), null,
    'moved out of localStorage');

  // A reload, then a second invoice: the next number, never the same one.
  await page.waitForTimeout(1000);
  await page.reload();
  await page.getByTestId('invoice-form').waitFor({ timeout: 30000 });
  assert.equal(await field('number').inputValue(), first, 'the first draft keeps its number');
  await page.goto(`${stack.url}/#/faktury`);
  await page.getByTestId('new-invoice').click();
  await page.getByTestId('invoice-form').waitFor({ timeout: 30000 });
  await page.waitForURL(/draft=/);
  assert.equal(await field('number').inputValue(), '');
  await page.getByTestId('assign-number').click();
  const second = await expected(43);
  await page.waitForFunction((v) => document.querySelector('input[name="number"]').value === v, second, { timeout: 15000 });
  assert.notEqual(second, first);

  const series = await page.evaluate(() => new Promise((resolve, reject) => {
    const req = indexedDB.open('kwit');
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const all = req.result.transaction('series').objectStore('series').getAll();
      all.onsuccess = () => { resolve(all.result); req.result.close(); };
    };
  }));
  assert.equal(series.length, 1, 'one series for the company');
  const [y, m] = (await field('issue_date').inputValue()).split('-');
  assert.equal(series[0], `FV/{n}/{MM}/{YYYY}\n${y}-${m} 43`, 'pattern and the month\'s last counter');
  passed();
});
