// Starts perfwatch with the options the test put in `window.__E2E_OPTS` (an init script) over
// the defaults below; `window.__monitor` is the monitor once started, `window.__initError` the
// reason when it did not. Console warnings are kept in `window.__warnings` for the test to read.
const { collector } = window.__E2E_CONFIG;
window.__warnings = [];
const warn = console.warn.bind(console);
console.warn = (...args) => {
  window.__warnings.push(args.map(String).join(' '));
  warn(...args);
};
const options = { endpoint: collector, app: 'e2e-delivery', ...(window.__E2E_OPTS ?? {}) };
import('/pw/dist/index.js')
  .then(({ init }) => init(options))
  .then(
    (monitor) => {
      window.__monitor = monitor;
    },
    (err) => {
      window.__initError = String(err);
    },
  );
