// Shared by every scenario page (a classic script, after web-vitals' attribution IIFE build):
// registers web-vitals (the reference) and records, for the test, everything both libraries
// report on this page load, plus the page's own lifecycle events. Each record goes to
// `window.__e2e` (read with page.evaluate while the page is there) and, with sendBeacon, to the
// test server's `/sink` (read after the page is gone, or when Playwright never attached to it).
// Beacons are batched and sent in a task of their own (or at once when the page is hidden), so
// that recording costs a library's callback next to nothing: after a bfcache restore each library
// reads performance.now() in its own animation frame callback, one after the other.
// `?run=<id>` in the URL names the test run. No `unload` handler: it would block the bfcache.
(() => {
  const script = document.currentScript;
  const run = new URLSearchParams(location.search).get('run') ?? 'none';
  const doc = Math.random().toString(36).slice(2, 10);
  let seq = 0;
  const state = (window.__e2e = { run, doc, wv: [], pw: [], events: [], lcp: [], interactions: [] });
  // The names the test brief uses for the two report lists.
  window.__wv = state.wv;
  window.__pw = state.pw;

  let pending = [];
  const flush = () => {
    if (pending.length) navigator.sendBeacon('/sink', JSON.stringify(pending));
    pending = [];
  };
  const sink = (kind, data) => {
    const record = { run, doc, seq: seq++, page: location.pathname, time: performance.now(), kind, data };
    if (!pending.length) setTimeout(flush);
    pending.push(record);
    return record;
  };

  /** A page event (lifecycle, marks of the scenario's own steps). */
  const event = (name, data = {}) => {
    const record = sink('event', { name, ...data });
    state.events.push({ name, time: record.time, ...data });
  };
  window.__e2eEvent = event;

  /**
   * perfwatch.js calls this once `init` settled. From then on, 'hidden' and 'left' mark the end
   * of a visibilitychange to hidden and of a pagehide: listeners added last, on window in the
   * bubble phase, run after every listener of both libraries (added before, or in the capture
   * and target phases), so that a test knows all reports of that moment were sent before them.
   */
  window.__e2eStarted = (error) => {
    event(error ? 'pw-error' : 'pw-ready', error ? { message: String(error?.stack ?? error) } : {});
    addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'hidden') {
        event('hidden');
        flush();
      }
    });
    addEventListener('pagehide', (e) => {
      event('left', { persisted: e.persisted });
      flush();
    });
  };

  /** A serialisable copy of a metric as reported: scalars, entry types, scalar attribution. */
  const snapshot = (m) => {
    let attribution;
    if (m.attribution) {
      attribution = {};
      for (const [key, value] of Object.entries(m.attribution)) {
        if (value === null || typeof value !== 'object') attribution[key] = value;
      }
    }
    return {
      name: m.name,
      value: m.value,
      delta: m.delta,
      id: m.id,
      rating: m.rating,
      navigationType: m.navigationType,
      entries: Array.from(m.entries ?? [], (e) => e.entryType),
      attribution,
    };
  };
  window.__e2eReport = (library, metric) => {
    const s = snapshot(metric);
    state[library].push(s);
    sink(library, s);
  };

  const nav = performance.getEntriesByType('navigation')[0];
  event('start', {
    url: location.href,
    visibilityState: document.visibilityState,
    prerendering: document.prerendering === true,
    navigationType: nav?.type,
    visibilityEntries: performance.getEntriesByType('visibility-state').map((e) => [e.name, e.startTime]),
  });
  addEventListener('pageshow', (e) => event('pageshow', { persisted: e.persisted, timeStamp: e.timeStamp }));
  addEventListener('pagehide', (e) => {
    event('pagehide', { persisted: e.persisted });
    flush();
  });
  addEventListener('load', () => event('load', { visibilityState: document.visibilityState }));
  document.addEventListener('prerenderingchange', () =>
    event('prerenderingchange', { visibilityState: document.visibilityState, activationStart: performance.getEntriesByType('navigation')[0]?.activationStart }),
  );
  document.addEventListener('visibilitychange', (e) => {
    event('visibilitychange', { visibilityState: document.visibilityState, timeStamp: e.timeStamp });
    if (document.visibilityState === 'hidden') flush();
  });

  // Chrome emits no LCP entry once input has happened, so a test presses its key only after the
  // entry it expects; paints show that a page loaded in the background did paint once shown.
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      state.lcp.push({ startTime: e.startTime, url: e.url, size: e.size });
      event('lcp', { startTime: e.startTime, url: e.url, size: e.size });
    }
  }).observe({ type: 'largest-contentful-paint', buffered: true });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) event('paint', { paint: e.name, startTime: e.startTime });
  }).observe({ type: 'paint', buffered: true });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      event('layout-shift', { startTime: e.startTime, value: e.value, hadRecentInput: e.hadRecentInput });
    }
  }).observe({ type: 'layout-shift', buffered: true });
  // The interactions whose Event Timing entries have been dispatched (those of 16 ms or more, and
  // the first input), so that a test waits for the libraries to have seen them before leaving.
  const interactions = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.interactionId && !state.interactions.includes(e.interactionId)) state.interactions.push(e.interactionId);
    }
  });
  interactions.observe({ type: 'event', durationThreshold: 16, buffered: true });
  interactions.observe({ type: 'first-input', buffered: true });
  // What the main thread's long tasks were (for later perfwatch events to be compared with).
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) event('longtask', { startTime: e.startTime, duration: e.duration });
  }).observe({ type: 'longtask', buffered: true });
  if (PerformanceObserver.supportedEntryTypes.includes('soft-navigation')) {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        event('soft-navigation', { url: e.name, startTime: e.startTime, navigationId: e.navigationId });
      }
    }).observe({ type: 'soft-navigation', buffered: true });
  }
  if (PerformanceObserver.supportedEntryTypes.includes('interaction-contentful-paint')) {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const lcp = e.largestContentfulPaint;
        event('icp', { interactionId: e.interactionId, startTime: e.startTime, url: lcp?.url, renderTime: lcp?.renderTime });
      }
    }).observe({ type: 'interaction-contentful-paint', buffered: true });
  }

  const opts = { reportSoftNavs: script.hasAttribute('data-soft-navs') };
  for (const name of ['LCP', 'INP', 'CLS', 'FCP', 'TTFB']) {
    webVitals[`on${name}`]((m) => window.__e2eReport('wv', m), opts);
  }
})();
