// KSeF certificates in the browser against the real simulator through the relay: import
// self-signed TINPL certificates (RSA and EC P-256, made here by the openssl CLI), log in with
// them (XAdES signed in the signer worker), enroll a KSeF certificate with a key generated in the
// browser and log in with it; a key of another certificate is refused. The signer worker is
// not part of the first load: it is fetched when a certificate is first used.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { perTestStack, addCompany, setUpVault } from '../lib/harness.mjs';

let stack, page, requests;
const { passed } = perTestStack((s, p) => {
  stack = s;
  page = p;
  requests = [];
  page.on('request', (r) => requests.push(new URL(r.url()).pathname));
});

const dir = mkdtempSync(join(tmpdir(), 'kwit-certs-'));

/** A self-signed certificate naming `nip` (serialNumber TINPL-…) and its PKCS#8 key. */
function selfSigned(name, nip, keyArgs) {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  execFileSync('openssl', ['genpkey', '-out', key, ...keyArgs], { stdio: 'pipe' });
  execFileSync('openssl', ['req', '-x509', '-new', '-key', key, '-out', cert, '-days', '365',
    '-subj', `/CN=Jan Testowy/serialNumber=TINPL-${nip}/C=PL`], { stdio: 'pipe' });
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}
const RSA = ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'];
const EC = ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];

const signerRequested = () => requests.filter((p) => p.includes('kwit-signer'));

async function demoCompanyWithVault() {
  const demo = await stack.demo();
  await addCompany(page, stack.url, demo.nip, demo.companyName || 'Demo');
  await setUpVault(page);
  await page.getByTestId('cert-add').waitFor();
  return demo;
}

async function importCertificate(label, { cert, key }) {
  await page.getByTestId('cert-label').fill(label);
  await page.getByTestId('cert-pem').fill(cert);
  await page.getByTestId('cert-key').fill(key);
  await page.getByTestId('cert-add').click();
}

const row = (label) => page.getByTestId('credential-row').filter({ hasText: label });

async function makeDefault(label) {
  await row(label).getByRole('button', { name: 'Ustaw jako domyślny' }).click();
  await row(label).getByTestId('default-badge').waitFor({ timeout: 15000 });
}

async function logIn() {
  await page.getByTestId('login').click();
  await page.getByTestId('session-nip').waitFor({ timeout: 60000 });
}

async function logOut() {
  await page.getByTestId('logout').click();
  await page.getByTestId('login').waitFor({ timeout: 30000 });
}

async function credentialsDump() {
  return page.evaluate(() => new Promise((resolve, reject) => {
    const req = indexedDB.open('kwit');
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const all = req.result.transaction('credentials').objectStore('credentials').getAll();
      all.onsuccess = () => { resolve(JSON.stringify(all.result)); req.result.close(); };
    };
  }));
}

test('certificate login (RSA and EC), browser key generation + KSeF enrollment, login with the issued certificate', async () => {
  const demo = await demoCompanyWithVault();
  assert.deepEqual(signerRequested(), [], 'the signer worker is not fetched with the app');

  const rsa = selfSigned('rsa', demo.nip, RSA);
  const ec = selfSigned('ec', demo.nip, EC);
  await importCertificate('Certyfikat RSA', rsa);
  await row('Certyfikat RSA').getByTestId('default-badge').waitFor({ timeout: 60000 });
  assert.ok(signerRequested().some((p) => p.endsWith('kwit-signer_bg.wasm')),
    `the signer worker is fetched when a certificate is used: ${signerRequested()}`);
  assert.match(await row('Certyfikat RSA').innerText(), new RegExp(`TINPL-${demo.nip}.*RSA`));
  await importCertificate('Certyfikat EC', ec);
  await row('Certyfikat EC').waitFor({ timeout: 30000 });
  assert.match(await row('Certyfikat EC').innerText(), /EC P-256/);
  // The private keys are stored sealed only.
  const dump = await credentialsDump();
  for (const { key } of [rsa, ec]) {
    const body = key.split('\n')[1];
    assert.ok(!dump.includes(body), 'no private key in clear in IndexedDB');
  }

  // RSA certificate (the first one is the default).
  await logIn();
  assert.match(await page.getByTestId('session-credential').innerText(), /Certyfikat RSA · certyfikat KSeF \(podpis XAdES\)/);
  assert.equal(await page.getByTestId('session-nip').innerText(), demo.nip);
  assert.match(await page.getByTestId('session-permissions').innerText(), /InvoiceWrite/);
  await logOut();

  // EC P-256 certificate made default.
  await makeDefault('Certyfikat EC');
  await logIn();
  assert.match(await page.getByTestId('session-credential').innerText(), /Certyfikat EC · certyfikat KSeF/);

  // A KSeF certificate from a key generated in the browser. KSeF dates it from the moment
  // it issues it: with the enrollment data answered 1.5 s late, that is always a later
  // second than the click, and the fresh certificate must still count as valid.
  await fetch(`${stack.simUrl}/sim/faults`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ method: 'GET', path: '/v2/certificates/enrollments/data', kind: 'delay', delayMs: 1500 }),
  });
  await page.getByTestId('enroll-name').fill('Klucz z Kwit');
  await page.getByTestId('enroll').click();
  const done = page.getByTestId('enroll-done');
  await done.waitFor({ timeout: 90000 });
  assert.match(await done.innerText(), /Certyfikat KSeF wydany i zapisany: Authentication/);
  const issued = 'Klucz z Kwit (Authentication)';
  await row(issued).waitFor({ timeout: 15000 });
  assert.match(await row(issued).innerText(), /EC P-256/);
  assert.ok(!(await credentialsDump()).includes('BEGIN PRIVATE KEY'), 'the generated key is stored sealed');

  await makeDefault(issued);
  await logOut();
  await logIn();
  assert.match(await page.getByTestId('session-credential').innerText(), new RegExp(`${issued.replace(/[()]/g, '\\$&')} · certyfikat KSeF`));
  assert.equal(await page.getByTestId('session-nip').innerText(), demo.nip);
  passed();
});

test('a private key of another certificate is refused at import', async () => {
  const demo = await demoCompanyWithVault();
  const a = selfSigned('a', demo.nip, EC);
  const b = selfSigned('b', demo.nip, EC);
  await importCertificate('Zła para', { cert: a.cert, key: b.key });
  const err = page.getByTestId('cert-error');
  await err.waitFor({ timeout: 60000 });
  assert.match(await err.innerText(), /Klucz prywatny nie pasuje do certyfikatu/);
  assert.equal(await page.getByTestId('credential-row').count(), 0, 'nothing was saved');
  passed();
});

test('KSeF refusing a certificate of another NIP shows its code and what to do', async () => {
  const demo = await demoCompanyWithVault();
  const other = demo.nip === '5265877635' ? '1111111111' : '5265877635';
  await importCertificate('Cudzy certyfikat', selfSigned('other', other, EC));
  await row('Cudzy certyfikat').getByTestId('default-badge').waitFor({ timeout: 60000 });
  await page.getByTestId('login').click();
  const err = page.getByTestId('login-error');
  await err.waitFor({ timeout: 60000 });
  assert.match(await err.innerText(), /Logowanie do KSeF nieudane \(415/);
  assert.match(await err.innerText(), /użyj tokena\/certyfikatu z uprawnieniami do tego NIP/);
  assert.match(await page.getByTestId('session-state').innerText(), /Nie zalogowano/);
  passed();
});
