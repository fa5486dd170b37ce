// Trunk post_build hook (before precompress.mjs): writes sw.js, the service worker, with the
// list of every file of this build (HTML, the app's and the signer worker's JS and wasm, CSS,
// icons, the manifest) under their hashed names, and a cache name derived from their contents,
// so a new build is a new cache and the page can offer "a new version is ready".
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) throw new Error('TRUNK_STAGING_DIR is not set: run through trunk build');
const template = readFileSync(new URL('../sw.template.js', import.meta.url), 'utf8');
const files = readdirSync(dir)
  .filter((name) => !/\.(br|gz)$/.test(name) && name !== 'sw.js')
  .sort();
const hash = createHash('sha256');
for (const name of files) hash.update(name).update('\0').update(readFileSync(join(dir, name)));
const version = hash.digest('hex').slice(0, 16);
const precache = ['/', ...files.filter((f) => f !== 'index.html').map((f) => `/${f}`)];
writeFileSync(join(dir, 'sw.js'), template
  .replace("'__KWIT_VERSION__'", JSON.stringify(version))
  .replace('[/* __KWIT_PRECACHE__ */]', JSON.stringify(precache, null, 2)));
