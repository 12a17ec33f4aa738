// perfwatch on the scenario page, reporting into the same record as web-vitals (record.js).
// Imported dynamically, so that a package that fails to load is reported as such ('pw-error').
// With PERFWATCH_E2E_STAND_IN=web-vitals (see vitals-semantics.test.mjs), a second registration
// of web-vitals takes perfwatch's place: a check of the test itself, which must then pass.
const { collector, standIn } = window.__E2E_CONFIG;

if (standIn === 'web-vitals') {
  const reportSoftNavs = document.querySelector('script[data-soft-navs]') !== null;
  for (const name of ['LCP', 'INP', 'CLS', 'FCP', 'TTFB']) {
    webVitals[`on${name}`]((m) => window.__e2eReport('pw', m), { reportSoftNavs });
  }
  window.__e2eStarted();
} else {
  // A page may load the package from another mount (`window.__E2E_PW`, e.g. one whose wasm
  // is slow).
  import(`${window.__E2E_PW ?? '/pw/'}dist/index.js`)
    .then(({ init }) =>
      init({
        endpoint: collector,
        app: 'e2e',
        onMetric: (m) => window.__e2eReport('pw', m),
      }),
    )
    .then(
      () => window.__e2eStarted(),
      (err) => window.__e2eStarted(err ?? 'init failed'),
    );
}
