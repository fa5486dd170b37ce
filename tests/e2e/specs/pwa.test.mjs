// Kwit as an installable PWA: the manifest and icons, the service worker that keeps the app
// shell of this build, opening offline, never caching KSeF, and "a new version is ready".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { perTestStack } from '../lib/harness.mjs';

let stack, page;
const { passed } = perTestStack((s, p) => { stack = s; page = p; }, { serviceWorkers: 'allow' });

/** Opens `url` and waits until the service worker controls the page. */
async function openControlled(url) {
  await page.goto(url);
  await page.waitForSelector('[data-testid=key-row]', { timeout: 30000 });
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30000 });
}

/** Every URL path in Kwit's caches, by cache name. */
const cached = () => page.evaluate(async () => {
  const out = {};
  for (const name of await caches.keys()) {
    out[name] = (await (await caches.open(name)).keys()).map((r) => new URL(r.url).pathname);
  }
  return out;
});

const pngSize = (bytes) => [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];

test('the manifest, its icons and the service worker make Kwit installable', async () => {
  await openControlled(stack.url);
  const manifestUrl = await page.locator('link[rel=manifest]').getAttribute('href');
  const response = await fetch(new URL(manifestUrl, stack.url));
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type'), /manifest\+json|json/);
  const manifest = await response.json();
  assert.equal(manifest.short_name, 'Kwit');
  assert.equal(manifest.display, 'standalone');
  assert.equal(manifest.start_url, '/');
  assert.match(manifest.theme_color, /^#[0-9a-f]{6}$/i);
  const sizes = [];
  for (const icon of manifest.icons.filter((i) => i.type === 'image/png')) {
    const bytes = Buffer.from(await (await fetch(new URL(icon.src, stack.url))).arrayBuffer());
    assert.equal(bytes.subarray(1, 4).toString(), 'PNG', `${icon.src} is a PNG`);
    const [w, h] = pngSize(bytes);
    assert.equal(`${w}x${h}`, icon.sizes, `${icon.src} has the size the manifest says`);
    sizes.push(icon.sizes);
  }
  assert.ok(sizes.includes('192x192') && sizes.includes('512x512'), `icons Chromium asks for: ${sizes}`);
  assert.ok(manifest.icons.some((i) => i.purpose === 'maskable'));
  // Chromium's own verdict. A Playwright context is an incognito one, which Chromium never
  // offers to install; every other reason would be ours.
  const cdp = await page.context().newCDPSession(page);
  const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
  const ours = installabilityErrors.map((e) => e.errorId).filter((id) => id !== 'in-incognito');
  assert.deepEqual(ours, [], JSON.stringify(installabilityErrors));
  passed();
});

test('the app opens offline from the cache of its build, and KSeF answers are never cached', async () => {
  await openControlled(stack.url);
  const built = readdirSync(process.env.KWIT_DIST)
    .filter((n) => !/\.(br|gz)$/.test(n) && n !== 'sw.js' && n !== 'index.html');
  const caches1 = await cached();
  const names = Object.keys(caches1).filter((n) => n.startsWith('kwit-'));
  assert.equal(names.length, 1, `one versioned cache: ${Object.keys(caches1)}`);
  const paths = caches1[names[0]];
  for (const file of built) assert.ok(paths.includes(`/${file}`), `${file} is precached`);
  assert.ok(paths.includes('/'), 'the page itself is precached');
  assert.ok(built.some((f) => f.startsWith('kwit-signer')), 'the signer worker is part of the build');
  assert.ok(built.some((f) => f.startsWith('kwit-sync')), 'the sync worker is part of the build');
  assert.deepEqual(paths.filter((p) => /^\/(ksef|relay|sim)\//.test(p)), [], 'no KSeF or relay answer is cached');

  await page.context().setOffline(true);
  await page.reload();
  // The shell and its pages work; KSeF itself is, truthfully, out of reach.
  await page.getByTestId('nav-access').waitFor({ timeout: 30000 });
  await page.getByTestId('keys-error').waitFor({ timeout: 30000 });
  await page.goto(`${stack.url}/#/companies`);
  await page.getByTestId('company-nip').waitFor({ timeout: 30000 });
  await page.goto(`${stack.url}/#/faktury`);
  await page.getByTestId('new-invoice').click();
  await page.locator('[data-testid=invoice-form], [data-testid=form-no-company]').first().waitFor({ timeout: 30000 });
  await page.context().setOffline(false);
  passed();
});

test('a new build is offered as "a new version is ready" and the reload brings it', async () => {
  // A relay of its own over a copy of the build, so the test can deploy a "new" one.
  const dir = mkdtempSync(join(tmpdir(), 'kwit-pwa-'));
  cpSync(process.env.KWIT_DIST, dir, { recursive: true });
  const port = stack.relayPort + 500;
  const relay = spawn(process.env.KWIT_RELAY_BIN,
    ['--listen', `127.0.0.1:${port}`, '--sim-url', stack.simUrl, '--spa-dir', dir], { stdio: 'ignore' });
  try {
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      try { if ((await fetch(`${url}/healthz`)).ok) break; } catch { /* not yet */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    await openControlled(url);
    const before = Object.keys(await cached());
    assert.equal(await page.getByTestId('update-ready').count(), 0, 'nothing to offer yet');
    // Deploy: the same files under a new version (a new build has a new cache name), served
    // plain (no precompressed copy of the old worker may shadow it).
    const sw = readFileSync(join(process.env.KWIT_DIST, 'sw.js'), 'utf8')
      .replace(/const VERSION = "[0-9a-f]+";/, 'const VERSION = "0000000000000001";');
    assert.match(sw, /0000000000000001/);
    writeFileSync(join(dir, 'sw.js'), sw);
    rmSync(join(dir, 'sw.js.br'), { force: true });
    rmSync(join(dir, 'sw.js.gz'), { force: true });
    await page.evaluate(async () => (await navigator.serviceWorker.getRegistration()).update());
    const bar = page.getByTestId('update-ready');
    await bar.waitFor({ timeout: 30000 });
    assert.match(await bar.innerText(), /Nowa wersja Kwit jest gotowa/);
    await Promise.all([page.waitForEvent('load', { timeout: 30000 }), page.getByTestId('update-reload').click()]);
    await page.waitForSelector('[data-testid=key-row]', { timeout: 30000 });
    const after = Object.keys(await cached());
    assert.ok(after.includes('kwit-0000000000000001'), `the new version's cache: ${after}`);
    assert.ok(before.every((name) => !after.includes(name)), `the old cache is gone: ${before} → ${after}`);
    assert.equal(await page.getByTestId('update-ready').count(), 0, 'no offer after the reload');
  } finally {
    relay.kill('SIGTERM');
  }
  passed();
});
