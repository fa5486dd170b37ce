// Registers Kwit's service worker and offers a new version when one is deployed: a plain
// script beside the wasm app, so none of it weighs on the app's module.
(() => {
  if (!('serviceWorker' in navigator)) return;
  const texts = {
    pl: ['Nowa wersja Kwit jest gotowa.', 'Odśwież'],
    en: ['A new version of Kwit is ready.', 'Reload'],
  };
  function offer(worker) {
    if (document.getElementById('kwit-update')) return;
    const [message, action] = texts[document.documentElement.lang] || texts.pl;
    const bar = document.createElement('div');
    bar.id = 'kwit-update';
    bar.className = 'update-bar';
    bar.setAttribute('role', 'status');
    bar.dataset.testid = 'update-ready';
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = action;
    button.dataset.testid = 'update-reload';
    button.addEventListener('click', () => worker.postMessage('kwit-update'));
    bar.append(message, ' ', button);
    document.body.append(bar);
  }
  // Only a replaced worker reloads the page, not the first one taking control of it.
  let controlled = Boolean(navigator.serviceWorker.controller);
  let reloading = false;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (!controlled) {
      controlled = true;
      return;
    }
    if (reloading) return;
    reloading = true;
    location.reload();
  });
  navigator.serviceWorker.register('/sw.js').then((registration) => {
    if (registration.waiting && navigator.serviceWorker.controller) offer(registration.waiting);
    registration.addEventListener('updatefound', () => {
      const worker = registration.installing;
      worker?.addEventListener('statechange', () => {
        if (worker.state === 'installed' && navigator.serviceWorker.controller) offer(worker);
      });
    });
  }).catch(() => { /* no service worker (e.g. plain http on another host): Kwit still works online */ });
})();
