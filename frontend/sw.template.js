// Kwit's service worker (frontend/build/service-worker.mjs fills in the version and the list of
// this build's files). It keeps the app shell in a versioned cache so Kwit opens without a
// network, and never caches KSeF, the relay or the simulator: those answers carry tokens and
// invoices, and must be fresh.
const VERSION = '__KWIT_VERSION__';
const CACHE = `kwit-${VERSION}`;
const PRECACHE = [/* __KWIT_PRECACHE__ */];
/** Paths that are never answered from (or put into) a cache. */
const NEVER = ['/ksef/', '/latarnia/', '/relay/', '/sim/', '/healthz', '/tunnel/'];

self.addEventListener('install', (event) => {
  // `cache: 'reload'` skips the HTTP cache, so the cache holds exactly this build's files.
  event.waitUntil(caches.open(CACHE).then((cache) =>
    cache.addAll(PRECACHE.map((url) => new Request(url, { cache: 'reload' })))));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith('kwit-') && k !== CACHE)
      .map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

// The page asks a waiting worker to take over when the user chooses "reload".
self.addEventListener('message', (event) => {
  if (event.data === 'kwit-update') self.skipWaiting();
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (NEVER.some((prefix) => url.pathname.startsWith(prefix))) return;
  if (request.mode === 'navigate') {
    // The page itself: the network first (a new release shows at once), the cached shell
    // when there is no network.
    event.respondWith(fetch(request).catch(() =>
      caches.open(CACHE).then((cache) => cache.match('/'))));
    return;
  }
  event.respondWith(caches.open(CACHE).then((cache) =>
    cache.match(request).then((hit) => hit || fetch(request))));
});
