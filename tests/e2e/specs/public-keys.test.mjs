// The thinnest slice through every layer: browser → relay → simulator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { perTestStack } from '../lib/harness.mjs';

let stack, page;
const { passed } = perTestStack((s, p) => { stack = s; page = p; });

async function keyRows() {
  await page.goto(stack.url);
  await page.waitForSelector('[data-testid=key-row]', { timeout: 30000 });
  return page.locator('[data-testid=key-row]');
}

test('the SPA served by the relay lists the simulator public keys with usage and validity', async () => {
  const keyFetches = [];
  page.on('request', (r) => { if (r.url().includes('/public-key-certificates')) keyFetches.push(r.url()); });
  const rows = await keyRows();
  // Start-up (reading the vault metadata and the companies) must not remount the page: a
  // remount refetched the keys and briefly emptied the table (and any form being filled in).
  await page.waitForLoadState('networkidle');
  assert.equal(keyFetches.length, 1, `the keys are fetched once: ${keyFetches.join(', ')}`);
  const served = await (await fetch(`${stack.simUrl}/v2/security/public-key-certificates`)).json();
  assert.equal(await rows.count(), served.length, 'one row per certificate the simulator serves');
  const usages = (await page.locator('[data-testid=key-usage]').allInnerTexts()).join(' | ');
  assert.match(usages, /szyfrowanie tokena KSeF/);
  assert.match(usages, /szyfrowanie klucza faktur/);
  const validTo = await page.locator('[data-testid=key-valid-to]').allInnerTexts();
  for (const cert of served) assert.ok(validTo.includes(cert.validTo.slice(0, 10)), `${cert.validTo} shown`);
  passed();
});

test('switching to English translates the page and survives a reload', async () => {
  await keyRows();
  await page.getByRole('button', { name: 'English' }).click();
  await page.getByText('KSeF public key certificates').waitFor();
  await page.reload();
  await page.getByText('KSeF token encryption').first().waitFor({ timeout: 30000 });
  passed();
});

test('with the simulator down the page says KSeF is unavailable and shows no keys', async () => {
  await stack.stopSim();
  await page.goto(stack.url);
  const err = page.getByTestId('keys-error');
  await err.waitFor({ timeout: 30000 });
  assert.match(await err.innerText(), /KSeF jest chwilowo niedostępny/);
  assert.equal(await page.locator('[data-testid=key-row]').count(), 0);
  passed();
});

test('with the relay gone the page says the Kwit server cannot be reached', async () => {
  await keyRows();
  await stack.stopRelay();
  await page.getByRole('button', { name: 'Pobierz certyfikaty publiczne' }).click();
  const err = page.getByTestId('keys-error');
  await err.waitFor({ timeout: 30000 });
  assert.match(await err.innerText(), /Brak połączenia z serwerem Kwit/);
  passed();
});
