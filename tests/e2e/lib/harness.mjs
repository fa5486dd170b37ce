// Starts the real KSeF simulator and the real relay (serving the built SPA) on loopback ports,
// and Debian's Chromium through playwright-core. Never downloads a browser.
import { spawn } from 'node:child_process';
import { before, after, beforeEach, afterEach } from 'node:test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the tests with ./kwit test`);
  return v;
};

export const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;

async function waitFor(url, ms = 20000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = e.message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up: ${last}`);
}

let nextPort = 18180 + (process.pid % 200) * 2;

/** A running simulator + relay pair; `output` collects everything both print. */
export class Stack {
  constructor() {
    this.simPort = nextPort++;
    this.relayPort = nextPort++;
    this.simUrl = `http://127.0.0.1:${this.simPort}`;
    this.url = `http://127.0.0.1:${this.relayPort}`;
    this.output = '';
  }

  #spawn(bin, args) {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => (this.output += d));
    child.stderr.on('data', (d) => (this.output += d));
    return child;
  }

  async startSim() {
    this.sim = this.#spawn(env('KWIT_SIM_BIN'), ['--listen', `127.0.0.1:${this.simPort}`]);
    await waitFor(`${this.simUrl}/sim/demo`);
  }

  async startRelay() {
    this.relay = this.#spawn(env('KWIT_RELAY_BIN'), [
      '--listen', `127.0.0.1:${this.relayPort}`,
      '--sim-url', this.simUrl,
      '--spa-dir', env('KWIT_DIST'),
    ]);
    await waitFor(`${this.url}/healthz`);
  }

  async start() {
    await this.startSim();
    await this.startRelay();
    return this;
  }

  async demo() {
    return (await fetch(`${this.simUrl}/sim/demo`)).json();
  }

  static async #stop(child) {
    // A child killed by a signal keeps exitCode === null and sets signalCode instead.
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const done = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    // Never hang a test run on a process that ignores SIGTERM.
    const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
    await done;
    clearTimeout(timer);
  }

  stopSim() { return Stack.#stop(this.sim); }
  stopRelay() { return Stack.#stop(this.relay); }
  async stop() {
    await this.stopRelay();
    await this.stopSim();
  }
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
      '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
}

/** Keeps a screenshot of the page when a test fails (CI artefact). */
export async function screenshotOnFailure(t, page) {
  if (!page || page.isClosed()) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  const name = t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 80);
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true }).catch(() => {});
}

/**
 * The lifecycle every browser spec shares: one Chromium per file; per test a fresh simulator +
 * relay and a new page, handed to `onStart(stack, page)`; afterwards a screenshot unless the
 * test called `passed()` at its end, then both are stopped. The service worker is blocked
 * unless `{ serviceWorkers: 'allow' }` (pwa.test.mjs): Playwright cannot see or route the
 * requests a service worker makes, and the specs that count KSeF requests need to.
 */
export function perTestStack(onStart, { serviceWorkers = 'block' } = {}) {
  let browser, stack, page, failed;
  before(async () => { browser = await launchBrowser(); });
  after(async () => { await browser?.close(); });
  beforeEach(async () => {
    stack = await new Stack().start();
    page = await browser.newPage({ serviceWorkers });
    failed = true;
    onStart(stack, page);
  });
  afterEach(async (t) => {
    if (failed) await screenshotOnFailure(t, page);
    await page?.close();
    await stack?.stop();
  });
  return { passed: () => { failed = false; } };
}

/** The vault passphrase the specs use. */
export const PASS = 'tajne hasło 2026';

/** Adds a company on Firmy (it becomes the current one) and waits until it is saved. */
export async function addCompany(page, url, nip, name) {
  await page.goto(`${url}/#/companies`);
  const input = page.getByTestId('company-nip');
  await input.waitFor({ timeout: 30000 });
  // Filled again if the start-up (the company list loading) reset the form meanwhile.
  for (let i = 0; i < 3; i++) {
    await input.fill(nip);
    await page.getByTestId('company-name').fill(name);
    if ((await input.inputValue()) === nip) break;
  }
  await page.getByTestId('company-save').click();
  await page.getByTestId('company-saved').waitFor({ timeout: 30000 });
}

/** Creates the vault on Dostęp i logowanie; with `token`, adds it as the default credential. */
export async function setUpVault(page, token) {
  await page.getByTestId('nav-access').click();
  await page.getByTestId('vault-passphrase').fill(PASS);
  await page.getByTestId('vault-passphrase-again').fill(PASS);
  await page.getByTestId('vault-create').click();
  if (!token) return;
  await page.getByTestId('token-label').fill('Token');
  await page.getByTestId('token-value').fill(token);
  await page.getByTestId('token-add').click();
  await page.getByTestId('default-badge').waitFor({ timeout: 15000 });
}

/** The demo company of the simulator, its vault and token, logged in (on Dostęp i logowanie). */
export async function logInDemo(page, stack) {
  const demo = await stack.demo();
  await addCompany(page, stack.url, demo.nip, demo.companyName || 'Demo');
  await setUpVault(page, demo.ksefToken);
  await page.getByTestId('login').click();
  await page.getByTestId('session-nip').waitFor({ timeout: 30000 });
  return demo;
}
