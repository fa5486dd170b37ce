// The phone (issue 13.3): at 360 px and at 390×844 every page fits the width — no sideways
// scrolling — and the header's controls (company switcher, lock, language) and every tab are on
// screen. A screenshot of each page at 390×844 is kept in tests/e2e/artifacts for review.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { perTestStack, ARTIFACTS, addCompany, setUpVault } from '../lib/harness.mjs';

let stack, page;
const { passed } = perTestStack((s, p) => { stack = s; page = p; });

const PAGES = ['start', 'companies', 'access', 'fakturowanie', 'faktury'];

/** What sticks out of the viewport on the page shown: the page's own width and the header's controls. */
async function overflow() {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const out = [];
    if (document.documentElement.scrollWidth > width) {
      out.push(`page ${document.documentElement.scrollWidth} px wide`);
    }
    const controls = document.querySelectorAll(
      'header.top select, header.top button, nav.tabs a, main input, main button, main select');
    for (const el of controls) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      // Inside a table that scrolls in its own box is fine; anything else must be on screen.
      if (el.closest('table')) continue;
      if (r.left < 0 || r.right > width + 0.5) {
        out.push(`${el.tagName.toLowerCase()}[${el.dataset.testid || el.name || el.textContent.trim().slice(0, 20)}] ${Math.round(r.left)}–${Math.round(r.right)}`);
      }
    }
    return out;
  });
}

test('every page fits a phone: nothing off-screen at 360 px, screenshots at 390×844', async () => {
  const demo = await stack.demo();
  await page.setViewportSize({ width: 390, height: 844 });
  await addCompany(page, stack.url, demo.nip, 'Pracownia Projektowa Zofia Wiśniewska-Kowalczyk');
  await setUpVault(page);
  await page.getByTestId('lock').waitFor({ timeout: 15000 });

  mkdirSync(ARTIFACTS, { recursive: true });
  const problems = [];
  for (const width of [390, 360]) {
    await page.setViewportSize({ width, height: 844 });
    for (const slug of PAGES) {
      await page.getByTestId(`nav-${slug}`).click();
      await page.waitForTimeout(400);
      for (const p of await overflow()) problems.push(`${width} px, ${slug}: ${p}`);
      if (width === 390) {
        await page.screenshot({ path: join(ARTIFACTS, `phone-390x844-${slug}.png`), fullPage: true });
      }
    }
  }
  assert.deepEqual(problems, []);
  // The header's controls are all there and usable on the phone.
  for (const id of ['company-switcher', 'lock', 'lang-switch']) {
    assert.equal(await page.getByTestId(id).isVisible(), true, id);
  }
  passed();
});

// Issue 13.7: every page in English has no Polish word outside data, and the reverse.
const POLISH = /[ąćęłńóśźżĄĆĘŁŃÓŚŹŻ]|\b(Firma|Firmy|Zaloguj|Faktura|Faktury|Szkic|Symulator|Stawka|Netto|Brutto|Nabywca|Sprzedawca|Zapisz|przelew|domyślny|aktywny|Pobierz|Dodaj|Wybierz|Edytuj)\b/;
const ENGLISH = /\b(Invoice|Invoices|Send|Company|Companies|Simulator|Active|Draft|Save|Delete|Edit|Select|default|Loading|Buyer|Seller|Net|Gross|Rate|Log in)\b/;

/** The visible text of the page shown, without amounts (data: `2 460,00 zł`). */
async function uiText() {
  return page.evaluate(() => {
    const parts = [document.querySelector('header.top'), document.querySelector('nav.tabs'), document.querySelector('main')]
      .map((el) => el?.innerText || '');
    // Option labels of selects are UI text too.
    for (const o of document.querySelectorAll('main option, header option')) parts.push(o.textContent);
    return parts.join('\n').replace(/−?\d[\d\s]*,\d{2}\s(zł|[A-Z]{3})/g, '');
  });
}

test('every page in English has no Polish word outside data, and in Polish no English one', async () => {
  const demo = await stack.demo();
  await addCompany(page, stack.url, demo.nip, 'ACME');
  await setUpVault(page, demo.ksefToken);
  await page.getByTestId('nav-faktury').click();
  await page.getByTestId('new-invoice').click();
  await page.getByTestId('invoice-form').waitFor({ timeout: 30000 });
  await page.locator('input[name="buyer.name"]').fill('ACME Ltd');
  await page.waitForTimeout(800);

  const found = [];
  for (const [lang, foreign] of [['pl', ENGLISH], ['en', POLISH]]) {
    if (lang === 'en') await page.getByTestId('lang-switch').click();
    for (const slug of PAGES) {
      await page.getByTestId(`nav-${slug}`).click();
      await page.waitForTimeout(400);
      for (const line of (await uiText()).split('\n')) {
        const m = line.match(foreign);
        if (m) found.push(`${lang} ${slug}: "${m[0]}" in "${line.trim().slice(0, 120)}"`);
      }
    }
  }
  assert.deepEqual(found, []);
  passed();
});
