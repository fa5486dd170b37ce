// Errors in words (issue 13.2): what KSeF, the relay or the network answer becomes a sentence in
// the user's language saying what happened and what to do — never raw JSON, an HTML page, an
// HTTP status alone or the browser's "TypeError".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { perTestStack, addCompany, setUpVault } from '../lib/harness.mjs';

let stack, page;
const { passed } = perTestStack((s, p) => { stack = s; page = p; });

const RAW = /[{}<>]|exception|upstream-|TypeError|HTTP \d{3}|\.\./;

async function fault(rule) {
  const r = await fetch(`${stack.simUrl}/sim/faults`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(rule),
  });
  assert.ok(r.ok, `fault set: ${r.status}`);
}

test('a login KSeF refuses with 21470 (unknown key) says to fetch the public certificates and log in again', async () => {
  const demo = await stack.demo();
  await addCompany(page, stack.url, demo.nip, 'Demo');
  await setUpVault(page, demo.ksefToken);
  // Twice: the login fetches the public keys again after the first 21470 and tries once more.
  await fault({ method: 'POST', path: '/auth/ksef-token', kind: 'status', status: 400, exceptionCode: 21470, count: 2 });
  await page.getByTestId('login').click();
  const err = page.getByTestId('login-error');
  await err.waitFor({ timeout: 30000 });
  const text = await err.innerText();
  assert.match(text, /KSeF nie zna klucza.*Pobierz certyfikaty publiczne KSeF.*zaloguj się ponownie/s);
  assert.doesNotMatch(text, RAW, text);
  // KSeF's code waits behind "Szczegóły", closed until asked for.
  const details = err.getByTestId('error-details');
  assert.equal(await details.evaluate((d) => d.open), false);
  assert.doesNotMatch(text, /21470/, 'the code is not in the message itself');
  await details.locator('summary').click();
  assert.match(await details.innerText(), /Szczegóły[\s\S]*kod KSeF 21470/);

  // In English too.
  await page.getByTestId('lang-switch').click();
  await fault({ method: 'POST', path: '/auth/ksef-token', kind: 'status', status: 400, exceptionCode: 21470, count: 2 });
  await page.getByTestId('login').click();
  await page.waitForFunction(() =>
    /Fetch the KSeF public certificates/.test(document.querySelector('[data-testid="login-error"]')?.innerText || ''),
  null, { timeout: 30000 });
  assert.doesNotMatch(await err.innerText(), RAW);
  passed();
});

test('a key KSeF withdrew once (21470) is fetched again and the login goes through', async () => {
  const demo = await stack.demo();
  await addCompany(page, stack.url, demo.nip, 'Demo');
  await setUpVault(page, demo.ksefToken);
  await fault({ method: 'POST', path: '/auth/ksef-token', kind: 'status', status: 400, exceptionCode: 21470 });
  await page.getByTestId('login').click();
  await page.waitForFunction(() =>
    /Zalogowano do KSeF/.test(document.querySelector('[data-testid="session-state"]')?.innerText || ''),
  null, { timeout: 30000 });
  assert.equal(await page.getByTestId('login-error').count(), 0, 'no error shown');
  passed();
});

test('KSeF\'s HTML firewall page and a 500 on the public certificates become sentences with what to do', async () => {
  await fault({ method: 'GET', path: '/security/public-key-certificates', kind: 'html403' });
  await page.goto(stack.url);
  const err = page.getByTestId('keys-error');
  await err.waitFor({ timeout: 30000 });
  let text = await err.innerText();
  assert.match(text, /KSeF jest chwilowo niedostępny.*Spróbuj ponownie za kilka minut/s);
  assert.doesNotMatch(text, RAW, text);

  await fault({ method: 'GET', path: '/security/public-key-certificates', kind: 'status', status: 500 });
  await page.getByRole('button', { name: 'Pobierz certyfikaty publiczne' }).click();
  await page.waitForFunction(() =>
    /KSeF ma chwilowy problem/.test(document.querySelector('[data-testid="keys-error"]')?.innerText || ''),
  null, { timeout: 30000 });
  text = await err.innerText();
  assert.doesNotMatch(text, RAW, text);
  passed();
});
