// Renders the PNG app icons of the web app manifest from icons/favicon.svg with Debian's
// Chromium (run by hand after changing the logo; the PNGs are committed, the build does not
// need a browser): `node frontend/build/icons.mjs` from the repository root, with playwright-core
// from tests/e2e/node_modules.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../tests/e2e/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const svg = readFileSync(new URL('../icons/favicon.svg', import.meta.url), 'utf8');
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
for (const [name, size, pad] of [['icon-192.png', 192, 0], ['icon-512.png', 512, 0], ['icon-maskable-512.png', 512, 0.1]]) {
  const page = await browser.newPage({ viewport: { width: size, height: size } });
  // The maskable icon keeps the logo inside the safe zone on the logo's own blue.
  const inner = Math.round(size * (1 - 2 * pad));
  await page.setContent(`<html><body style="margin:0;background:${pad ? '#1d4ed8' : 'transparent'};display:grid;place-items:center;width:${size}px;height:${size}px">` +
    `<div style="width:${inner}px;height:${inner}px">${svg.replace('<svg ', `<svg width="${inner}" height="${inner}" `)}</div></body></html>`);
  await page.screenshot({ path: new URL(`../icons/${name}`, import.meta.url).pathname, omitBackground: !pad });
  await page.close();
}
await browser.close();
