// Companies, the vault, a KSeF token and login against the real simulator through the relay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { perTestStack } from '../lib/harness.mjs';

let stack, page;
const { passed } = perTestStack((s, p) => { stack = s; page = p; });

const PASS = 'tajne hasło 2026';

async function addCompany(nip, name) {
  await page.goto(`${stack.url}/#/companies`);
  await page.getByTestId('company-nip').fill(nip);
  await page.getByTestId('company-name').fill(name);
  await page.getByTestId('company-save').click();
}

async function addDemoCompanyWithToken() {
  const demo = await stack.demo();
  await addCompany(demo.nip, demo.companyName || 'Demo');
  await page.getByTestId('company-saved').waitFor();
  await page.getByTestId('nav-access').click();
  await page.getByTestId('vault-passphrase').fill(PASS);
  await page.getByTestId('vault-passphrase-again').fill(PASS);
  await page.getByTestId('vault-create').click();
  await page.getByTestId('token-label').fill('Token demo');
  await page.getByTestId('token-value').fill(demo.ksefToken);
  await page.getByTestId('token-add').click();
  await page.getByTestId('default-badge').waitFor({ timeout: 15000 });
  return demo;
}

test('a company with a bad NIP is refused with an error next to the field', async () => {
  await addCompany('1234567890', 'Zła firma');
  const err = page.getByTestId('company-nip-error');
  await err.waitFor({ timeout: 30000 });
  assert.match(await err.innerText(), /NIP ma błędną cyfrę kontrolną/);
  assert.equal(await page.getByTestId('company-row').count(), 0, 'nothing was saved');
  passed();
});

test('the demo company logs in with its pasted token and shows the session; logout ends it', async () => {
  const demo = await addDemoCompanyWithToken();
  // The switcher shows the new company as current.
  assert.match(await page.getByTestId('company-switcher').innerText(), new RegExp(demo.nip));
  // The token is stored encrypted: its secret part is nowhere in IndexedDB in plain text.
  const secret = demo.ksefToken.split('|').pop();
  const dump = await page.evaluate(() => new Promise((resolve, reject) => {
    const req = indexedDB.open('kwit');
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const tx = req.result.transaction('credentials');
      const all = tx.objectStore('credentials').getAll();
      all.onsuccess = () => { resolve(JSON.stringify(all.result)); req.result.close(); };
    };
  }));
  assert.ok(dump.includes('Token demo'), 'the credential is stored');
  assert.ok(!dump.includes(secret), 'the token secret is not stored in plain text');

  await page.getByTestId('login').click();
  const state = page.getByTestId('session-state');
  await page.getByTestId('session-nip').waitFor({ timeout: 30000 });
  assert.match(await state.innerText(), /Zalogowano do KSeF/);
  assert.equal(await page.getByTestId('session-nip').innerText(), demo.nip);
  assert.match(await page.getByTestId('session-permissions').innerText(), /InvoiceWrite/);
  assert.match(await page.getByTestId('credential-status').first().innerText(), /aktywny/);

  await page.getByTestId('logout').click();
  await page.getByTestId('login').waitFor({ timeout: 30000 });
  assert.match(await state.innerText(), /Nie zalogowano/);
  passed();
});

test('the app locks and unlocks only with the right passphrase', async () => {
  await addDemoCompanyWithToken();
  await page.getByTestId('lock').click();
  await page.getByTestId('lock-screen').waitFor();
  assert.equal(await page.getByTestId('token-add').count(), 0, 'locked: no credentials visible');
  await page.getByTestId('unlock-passphrase').fill('złe hasło 000');
  await page.getByTestId('unlock').click();
  const err = page.getByTestId('unlock-error');
  await err.waitFor({ timeout: 30000 });
  assert.match(await err.innerText(), /Nieprawidłowe hasło/);
  await page.getByTestId('unlock-passphrase').fill(PASS);
  await page.getByTestId('unlock').click();
  await page.getByTestId('token-add').waitFor({ timeout: 30000 });
  // A reload starts locked too: the key lives only in memory.
  await page.reload();
  await page.getByTestId('lock-screen').waitFor({ timeout: 30000 });
  passed();
});

// FAQ "Nie mogę się zalogować do KSeF", step 2: a token that is not the default cannot log in.
// (Both languages: the login error is made in the language of the click, so English needs a
// new click after switching; the credential rows keep the language they were drawn in.)
test('without a default credential "Zaloguj" gives the FAQ advice (PL and EN); setting the default makes login work', async () => {
  const demo = await addDemoCompanyWithToken();
  // A second token, then the default one deleted: the company keeps only a non-default token.
  await page.getByTestId('token-label').fill('Token zapasowy');
  await page.getByTestId('token-value').fill(demo.ksefToken);
  await page.getByTestId('token-add').click();
  const rows = page.getByTestId('credential-row');
  await rows.filter({ hasText: 'Token zapasowy' }).waitFor({ timeout: 15000 });
  await rows.filter({ hasText: 'Token demo' }).getByRole('button', { name: /^(Usuń|Delete)$/ }).click();
  await rows.filter({ hasText: 'Token demo' }).waitFor({ state: 'detached', timeout: 15000 });
  assert.equal(await rows.count(), 1);
  assert.equal(await page.getByTestId('default-badge').count(), 0, 'no default credential left');

  await page.getByTestId('login').click();
  const advicePl = 'Sprawdź, czy masz ustawiony domyślny certyfikat lub domyślny token';
  const err = page.getByTestId('login-error');
  await err.filter({ hasText: advicePl }).waitFor({ timeout: 30000 });
  assert.match(await err.innerText(), /Brak domyślnego tokena lub certyfikatu/);
  assert.match(await page.getByTestId('help-default').innerText(), new RegExp(`^✗ ${advicePl}`));
  assert.match(await page.getByTestId('session-state').innerText(), /Nie zalogowano/);

  await page.getByTestId('lang-switch').click();
  await page.getByTestId('login').click();
  const adviceEn = 'Check that a default certificate or default token is set';
  await err.filter({ hasText: adviceEn }).waitFor({ timeout: 30000 });
  assert.match(await err.innerText(), /No default token or certificate/);
  assert.match(await page.getByTestId('help-default').innerText(), new RegExp(`^✗ ${adviceEn}`));

  await rows.filter({ hasText: 'Token zapasowy' })
    .getByRole('button', { name: /^(Ustaw jako domyślny|Set as default)$/ }).click();
  await page.getByTestId('default-badge').waitFor({ timeout: 15000 });
  await page.getByTestId('help-default').filter({ hasText: `✓ ${adviceEn}` }).waitFor({ timeout: 15000 });
  await page.getByTestId('login').click();
  await page.getByTestId('session-nip').waitFor({ timeout: 30000 });
  assert.equal(await page.getByTestId('session-nip').innerText(), demo.nip);
  assert.match(await page.getByTestId('session-state').innerText(), /Logged in to KSeF/);
  assert.equal(await err.count(), 0, 'the error is gone after a good login');
  passed();
});
