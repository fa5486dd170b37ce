// Wyślij do KSeF from the invoice form against the real simulator: reference → status →
// KSeF number, rejections with details, and a send whose answer is lost resumes by status
// without sending twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { perTestStack, logInDemo } from '../lib/harness.mjs';

let stack, page;
const { passed } = perTestStack((s, p) => { stack = s; page = p; });

const BUYER_NIP = '5265877635';
const field = (path) => page.locator(`input[name="${path}"]`);
const SEND_PATH = /\/ksef\/sim\/v2\/sessions\/online\/[^/]+\/invoices$/;

const logIn = () => logInDemo(page, stack);

/** Opens a new invoice (no reload: the login lives in memory) and fills it completely. */
async function fillInvoice(number) {
  await page.getByTestId('nav-faktury').click();
  await page.getByTestId('new-invoice').click();
  await page.getByTestId('invoice-form').waitFor({ timeout: 30000 });
  await page.waitForURL(/draft=/);
  await field('number').fill(number);
  await field('seller.address_line1').fill('ul. Prosta 1, 00-001 Warszawa');
  await field('buyer.nip').fill(BUYER_NIP);
  await field('buyer.name').fill('Kwiaciarnia Róża sp. z o.o.');
  await field('buyer.country').fill('PL');
  await field('buyer.address_line1').fill('ul. Kwiatowa 2, 30-001 Kraków');
  await field('lines[0].description').fill('Projekt logo');
  await field('lines[0].unit_price').fill('1000');
}

test('Wyślij do KSeF: reference number at once, then the KSeF number, UPO and the list state', async () => {
  await logIn();
  await fillInvoice('FV/1/e2e');
  await page.getByTestId('send-ksef').click();
  const ksef = page.getByTestId('ksef-number');
  await ksef.waitFor({ timeout: 60000 });
  const number = await ksef.innerText();
  assert.match(number, /^\d{10}-\d{8}-[0-9A-F]{12}-[0-9A-F]{2}$/);
  assert.equal(await page.getByTestId('send-panel').getAttribute('data-state'), 'accepted');
  // UPO through the relay, not the simulator's own host.
  const upo = page.getByTestId('upo-link');
  const href = await upo.getAttribute('href');
  assert.match(href, /^\/ksef\/sim\/storage\//);
  const resp = await page.request.get(`${stack.url}${href}`);
  assert.equal(resp.status(), 200);
  assert.match(await resp.text(), /UPO|Potwierdzenie/);
  // Sent invoices are no longer editable.
  assert.equal(await field('buyer.name').isDisabled(), true);

  await page.getByTestId('nav-faktury').click();
  const row = page.getByTestId('invoice-row').first();
  await row.waitFor({ timeout: 30000 });
  assert.equal(await row.getAttribute('data-state'), 'accepted');
  assert.equal(await row.getByTestId('invoice-ksef').innerText(), number);
  passed();
});

test('with slow processing the reference shows first; Pobierz status brings the KSeF number', async () => {
  await logIn();
  await fetch(`${stack.simUrl}/sim/processing-delay`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ delayMs: 4000 }),
  });
  await fillInvoice('FV/2/e2e');
  await page.getByTestId('send-ksef').click();
  const reference = page.getByTestId('invoice-reference');
  await reference.waitFor({ timeout: 30000 });
  assert.match(await reference.innerText(), /-EE-/);
  assert.equal(await page.getByTestId('send-panel').getAttribute('data-state'), 'sent');
  // FAQ "Wysłałem fakturę, ale nie mam numeru KSeF": what to do if the number takes long.
  assert.match(await page.getByTestId('no-number-help').innerText(),
    /sprawdź, czy status nie wskazuje na odrzucenie.*pobierz status ponownie po kilku minutach.*skontaktuj się z administratorem/);
  await page.getByTestId('ksef-number').waitFor({ timeout: 60000 });
  passed();
});

test('a rejection shows its details and what to do; a duplicate names the existing KSeF number', async () => {
  await logIn();
  // The seller NIP is the company's and cannot be typed over (a local refusal instead of
  // KSeF's 410); a rejection KSeF gives is the duplicate (440) of an accepted invoice.
  await fillInvoice('FV/3/e2e');
  assert.equal(await field('seller.nip').isDisabled(), true);
  await page.getByTestId('send-ksef').click();
  await page.getByTestId('ksef-number').waitFor({ timeout: 60000 });
  const ksef = await page.getByTestId('ksef-number').innerText();
  await fillInvoice('FV/3/e2e');
  await page.getByTestId('send-ksef').click();
  const rejection = page.getByTestId('rejection');
  await rejection.waitFor({ timeout: 60000 });
  assert.match(await rejection.innerText(), /KSeF odrzucił fakturę/);
  assert.equal(await page.getByTestId('send-panel').getAttribute('data-state'), 'rejected');
  assert.match(await rejection.innerText(), /440/);
  assert.match(await rejection.innerText(), /nie wysyłaj jej ponownie/);
  assert.equal(await page.getByTestId('duplicate-of').locator('code').innerText(), ksef);

  // A rejected invoice can be fixed and sent: another number, accepted.
  await field('number').fill('FV/3a/e2e');
  await page.getByTestId('send-ksef').click();
  await page.getByTestId('ksef-number').waitFor({ timeout: 60000 });
  assert.notEqual(await page.getByTestId('ksef-number').innerText(), ksef);
  passed();
});

test('a send whose answer is lost resumes by status and never sends twice', async () => {
  await logIn();
  let posts = 0;
  // The invoice reaches KSeF but the answer never reaches the browser (connection reset).
  await page.route(SEND_PATH, async (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    posts += 1;
    if (posts === 1) {
      await route.fetch();
      return route.abort('connectionreset');
    }
    return route.continue();
  });
  await fillInvoice('FV/4/e2e');
  await page.getByTestId('send-ksef').click();
  const err = page.getByTestId('send-error');
  await err.waitFor({ timeout: 60000 });
  assert.equal(await page.getByTestId('send-panel').getAttribute('data-state'), 'sending');
  assert.match(await err.innerText(), /nie zostanie wysłana dwa razy/);
  // The state survives a look at the list (stored before the request went out).
  await page.getByTestId('retry-send').click();
  await page.getByTestId('ksef-number').waitFor({ timeout: 60000 });
  assert.equal(posts, 1, 'the invoice was sent once');

  // A dropped connection before KSeF got it: resumed by status, then sent exactly once more.
  await fetch(`${stack.simUrl}/sim/faults`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ method: 'POST', path: '/v2/sessions/online/{referenceNumber}/invoices', kind: 'drop' }),
  });
  await fillInvoice('FV/5/e2e');
  await page.getByTestId('send-ksef').click();
  await err.waitFor({ timeout: 60000 });
  await page.getByTestId('retry-send').click();
  await page.getByTestId('ksef-number').waitFor({ timeout: 60000 });
  assert.equal(posts, 3, 'one dropped request, one after the status check found nothing');
  passed();
});
