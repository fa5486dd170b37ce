// KSeF availability (Latarnia) through the relay's /latarnia/{env}: the banner shows MF's
// announcements with Kwit's advice, in the user's language, and tells "Latarnia does not
// answer" apart from "KSeF is down"; it checks again when the network comes back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { perTestStack } from '../lib/harness.mjs';

let stack, page;
const { passed } = perTestStack((s, p) => { stack = s; page = p; });

async function latarnia(body) {
  const r = await fetch(`${stack.simUrl}/sim/latarnia`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  assert.equal(r.status, 204);
}

async function open() {
  const checked = page.waitForResponse((r) => r.url().endsWith('/latarnia/sim/status'));
  await page.goto(stack.url);
  await checked;
}

const banner = () => page.locator('[data-testid=availability]');

test('nothing is shown while KSeF is available', async () => {
  await open();
  await page.waitForLoadState('networkidle');
  assert.equal(await banner().count(), 0);
  passed();
});

test('an announced failure suggests the emergency mode, with MF own words, in both languages', async () => {
  await latarnia({ status: 'FAILURE', title: 'Awaria KSeF', text: 'Trwa usuwanie awarii.' });
  await open();
  await banner().waitFor();
  assert.equal(await banner().getAttribute('data-kind'), 'failure');
  assert.match(await page.getByTestId('availability-advice').innerText(), /trybie awaryjnym.*7 dni roboczych/);
  assert.match(await page.getByTestId('availability-mf').innerText(), /Awaria KSeF.*Trwa usuwanie awarii/);
  await page.getByRole('button', { name: 'English' }).click();
  await page.getByText('emergency mode').waitFor();
  passed();
});

test('planned maintenance is announced ahead with its window in Polish time', async () => {
  // 5 December 2030, 20:00–22:30 UTC = 21:00–23:30 in Warsaw (winter time).
  await latarnia({ status: 'MAINTENANCE', title: 'Prace serwisowe',
    start: '2030-12-05T20:00:00Z', end: '2030-12-05T22:30:00Z' });
  await latarnia({ status: 'AVAILABLE' });
  await open();
  await banner().waitFor();
  assert.equal(await banner().getAttribute('data-kind'), 'planned-maintenance');
  assert.match(await page.getByTestId('availability-advice').innerText(), /5\.12\.2030 21:00–23:30/);
  passed();
});

test('Latarnia down is told apart from KSeF down', async () => {
  await latarnia({ outage: 502 });
  await open();
  await banner().waitFor();
  assert.equal(await banner().getAttribute('data-kind'), 'unreachable');
  const text = await banner().innerText();
  assert.match(text, /Latarnia KSeF nie odpowiada/);
  assert.match(text, /To nie znaczy, że KSeF nie działa/);
  assert.doesNotMatch(text, /awari/i);
  passed();
});

test('the banner checks again when the network comes back', async () => {
  await open();
  await page.waitForLoadState('networkidle');
  assert.equal(await banner().count(), 0);
  await latarnia({ status: 'MAINTENANCE', title: 'Prace serwisowe', text: 'KSeF niedostępny.' });
  await page.context().setOffline(true);
  await page.context().setOffline(false);
  await banner().waitFor();
  assert.equal(await banner().getAttribute('data-kind'), 'maintenance');
  assert.match(await page.getByTestId('availability-advice').innerText(), /trybie offline/);
  passed();
});

test('offline, the periodic check says nothing about Latarnia', async () => {
  await page.clock.install();
  await open();
  await page.waitForLoadState('networkidle');
  await page.context().setOffline(true);
  const checks = [];
  page.on('request', (r) => { if (r.url().includes('/latarnia/')) checks.push(r.url()); });
  await page.clock.runFor(11 * 60 * 1000);
  await page.waitForTimeout(500);
  assert.deepEqual(checks, [], 'no check is made without a network');
  assert.equal(await banner().count(), 0, 'no "Latarnia does not answer" while offline');
  passed();
});
