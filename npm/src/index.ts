/**
 * perfwatch: real-user performance monitoring. The measuring is done by a Rust/WebAssembly
 * module, loaded asynchronously so that importing this package never delays the first paint.
 *
 * ```ts
 * import { init } from 'perfwatch';
 * const monitor = await init({ endpoint: 'http://127.0.0.1:8001', app: 'ai-hub', key: 'pk_...' });
 * ```
 */
import loadWasm, { init as initSdk, type Monitor as WasmMonitor } from '../wasm/perfwatch_sdk.js';
import {
  guarded,
  mark,
  measure,
  monitorApiCall as timeApiCall,
  monitorUserInteraction as timeInteraction,
  recordError as recordErrorThrough,
  type ApiCallOptions,
  type ErrorContext,
  type Recorder,
} from './app.js';
import { createHost } from './host.js';

export type { ApiCallOptions, ErrorContext } from './app.js';

/** The names of the metrics, as web-vitals names them. */
export type MetricName = 'LCP' | 'INP' | 'CLS' | 'FCP' | 'TTFB';

/** A web vital, in web-vitals' shape, with the values web-vitals computes on the same load. */
export interface Metric {
  name: MetricName;
  /** Milliseconds, or the unitless score for CLS. */
  value: number;
  /** The change since this metric was last reported (equal to `value` on the first report). */
  delta: number;
  /** Unique per metric instance (`v6-<ms>-<random>`); stable across its reports. */
  id: string;
  rating: 'good' | 'needs-improvement' | 'poor';
  navigationType:
    | 'navigate'
    | 'reload'
    | 'back-forward'
    | 'back-forward-cache'
    | 'prerender'
    | 'restore'
    | 'soft-navigation';
  /** The performance entries the value was computed from. */
  entries: PerformanceEntry[];
  /**
   * What the value came from, with web-vitals' attribution names: LCP `{target, url,
   * timeToFirstByte, resourceLoadDelay, resourceLoadDuration, elementRenderDelay}`; INP
   * `{interactionTarget, interactionType, interactionTime, nextPaintTime, inputDelay,
   * processingDuration, presentationDelay, loadState}`; CLS `{largestShiftTarget,
   * largestShiftTime, largestShiftValue, loadState}`; `{}` for FCP and TTFB.
   */
  attribution: Record<string, string | number>;
}

/** Options of {@link init}. */
export interface PerfwatchOptions {
  /** The collector's base URL, e.g. `http://127.0.0.1:8001`. */
  endpoint: string;
  /** The application's name, as the collector groups it. */
  app: string;
  /** The app's public write key (sent as `?key=`). */
  key?: string;
  /** The app's version, to compare releases. */
  release?: string;
  /** A pseudonymous user id; never an e-mail address or a name. */
  userId?: string;
  /** The route template of the current page, e.g. `/chat/:id`. */
  route?: string;
  /** Share of sessions that report to the collector, 0 to 1 (default 1). */
  sampleRate?: number;
  /** Called with every web vital as it is reported. */
  onMetric?: (metric: Metric) => void;
  /** Resource timing events sent per page view (default 150); the rest are counted, not sent. */
  maxResources?: number;
  /** Share of resources reported, 0 to 1 (default 1). */
  resourceSampleRate?: number;
  /** Long tasks, and long animation frames, sent per page view (default 100 each). */
  maxLongTasks?: number;
  /** Queued events that start a send (default 50, at most 200). */
  flushAt?: number;
  /** A send goes at most this many ms after the first event queued since the last (default 5000; 0: never by time). */
  flushInterval?: number;
  /**
   * Gzip ordinary sends when that makes them smaller (default false). The `Content-Encoding`
   * header makes the browser ask the collector first (a CORS preflight, cached for a day);
   * the unload send is never compressed.
   */
  compress?: boolean;
  /** Sees every event before it is queued; return it (edited or not), or `null` to drop it. */
  beforeSend?: (event: Record<string, unknown>) => Record<string, unknown> | null | undefined | false;
  /** Query parameters kept in the URLs the SDK sends (default none: query strings are dropped). */
  allowedQueryParams?: string[];
  /** Other origins whose resource URLs are kept whole (scrubbed) rather than cut to the origin. */
  allowedResourceOrigins?: string[];
  /** Replace path segments that look like e-mail addresses, tokens or keys (default true). */
  redact?: boolean;
  /** Record every `fetch` as an `api_call` event (default false). */
  instrumentFetch?: boolean;
  /** Record every `XMLHttpRequest` as an `api_call` event (default false). */
  instrumentXhr?: boolean;
  /** Origins whose instrumented requests carry a W3C `traceparent` header (default none). */
  tracePropagationOrigins?: string[];
  /**
   * Record uncaught errors (`kind: 'unhandled'`) and unhandled promise rejections
   * (`kind: 'unhandledrejection'`) as `error` events (default true).
   */
  captureErrors?: boolean;
}

/** What became of the events measured so far (see `Monitor.stats`). */
export interface DeliveryStats {
  /** Events not sent: over a per-page-view cap, too large, or dropped by `beforeSend`. */
  dropped: number;
  /** Events the collector confirmed. */
  delivered: number;
  /** Events the collector refused for good (a wrong key, say); the console says why. */
  refused: number;
  /** Events handed to `sendBeacon` when the page was hidden (kept offline until confirmed). */
  beaconed: number;
  /** Batches lost from the offline store: expired, or pushed out when it was full. */
  lostBatches: number;
}

/** A running monitor. */
export interface Monitor {
  /** Sends everything measured so far now, rather than when the page is hidden. */
  report(): void;
  /**
   * Starts a new page view for a route change. Called by the package itself on history
   * changes where the browser does not report soft navigations; call it yourself only for
   * route changes that do not go through the history API.
   */
  pageView(route?: string): void;
  /** Names the current page view's route, e.g. `/chat/:id`. */
  setRoute(route?: string): void;
  /** Sets (or, with `undefined`, clears) the pseudonymous user id sent from now on. */
  setUser(userId?: string): void;
  /**
   * Times an API call: `call` is a function (sync or async) or a promise already running.
   * Records method (`options.method`, else the name's leading verb as in `GET /models`), URL
   * and status (from a returned `Response`, else `options`), and duration as an `api_call`
   * event; returns what `call` returns, or rethrows its error (recorded as status 0).
   */
  monitorApiCall<T>(name: string, call: (() => T) | T, options?: ApiCallOptions): T;
  /** Times a user interaction's handler (sync or async) as an `interaction` event; returns its result. */
  monitorUserInteraction<T>(name: string, handler: () => T): T | undefined;
  /** `performance.mark(name)`, for {@link Monitor.measure}. */
  mark(name: string): void;
  /**
   * Sends the time between two marks (names) or times (ms) as a `measure` event; without an
   * end, until now. Returns the duration, or `undefined` when a mark is missing.
   */
  measure(name: string, start?: string | number, end?: string | number): number | undefined;
  /**
   * Records an error as an `error` event: its name, message and stack (scrubbed like URLs and
   * names; the message at most 2 KB, each stack 16 KB). `PerformanceErrorBoundary` (from
   * `perfwatch/react`) records render errors with `{ kind: 'render', componentStack }`.
   */
  recordError(error: unknown, context?: ErrorContext): void;
  /** What became of the events so far. */
  stats(): DeliveryStats;
  /** Whether the browser reports soft navigations, which the SDK then follows itself. */
  readonly followsSoftNavigations: boolean;
  readonly sessionId: string;
  readonly pageViewId: string;
}

const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  'endpoint', 'app', 'key', 'release', 'userId', 'route', 'sampleRate', 'onMetric',
  'maxResources', 'resourceSampleRate', 'maxLongTasks', 'flushAt', 'flushInterval', 'compress',
  'beforeSend', 'allowedQueryParams', 'allowedResourceOrigins', 'redact', 'instrumentFetch',
  'instrumentXhr', 'tracePropagationOrigins', 'captureErrors',
]);

/**
 * Records the page's uncaught errors and unhandled rejections from now on (before the module
 * has loaded too: they wait for it). Resource load failures (an image, a script) reach `window`
 * only in the capture phase, and are not exceptions: they are not recorded.
 */
function captureUnhandled(): void {
  addEventListener('error', (event) => {
    if (event instanceof ErrorEvent) recordError(event.error ?? event.message, { kind: 'unhandled' });
  });
  addEventListener('unhandledrejection', (event) => recordError(event.reason, { kind: 'unhandledrejection' }));
}

/** The module once `init()` has started it. */
let running: WasmMonitor | undefined;
/** Records made before the module started (an app's first API calls), at most this many. */
const MAX_BEFORE_START = 100;
const beforeStart: Array<(sdk: WasmMonitor) => void> = [];
let warnedBeforeStart = false;

function through(record: (sdk: WasmMonitor) => void): void {
  if (running) {
    record(running);
  } else if (beforeStart.length < MAX_BEFORE_START) {
    beforeStart.push(record);
  } else if (!warnedBeforeStart) {
    warnedBeforeStart = true;
    console.warn(`perfwatch: more than ${MAX_BEFORE_START} calls recorded before init() finished; the rest are not recorded`);
  }
}

/**
 * Records through the running module, or keeps the records (with their own start times) until
 * `init()` has started it: the API calls of a page's first render are not lost to the module's
 * asynchronous loading.
 */
const deferred: Recorder = {
  apiCall: (...args) => through((sdk) => sdk.apiCall(...args)),
  timed: (...args) => through((sdk) => sdk.timed(...args)),
  recordError: (...args) => through((sdk) => sdk.recordError(...args)),
};

/**
 * `Monitor.monitorApiCall` without waiting for `init()`: usable from the first line of the app;
 * what it records before the monitor has started is sent once it has.
 */
export function monitorApiCall<T>(name: string, call: (() => T) | T, options?: ApiCallOptions): T {
  return timeApiCall(deferred, name, call, options);
}

/** `Monitor.monitorUserInteraction` without waiting for `init()` (see {@link monitorApiCall}). */
export function monitorUserInteraction<T>(name: string, handler: () => T): T | undefined {
  return timeInteraction(deferred, name, handler);
}

/** `Monitor.recordError` without waiting for `init()` (see {@link monitorApiCall}). */
export function recordError(error: unknown, context?: ErrorContext): void {
  recordErrorThrough(deferred, error, context);
}

/** The public monitor over the WebAssembly one. */
function wrap(sdk: WasmMonitor): Monitor {
  return {
    report: () => guarded('report()', () => sdk.report()),
    pageView: (route) => guarded('pageView()', () => sdk.pageView(route)),
    setRoute: (route) => guarded('setRoute()', () => sdk.setRoute(route)),
    setUser: (userId) => {
      if (userId !== undefined && typeof userId !== 'string') {
        console.warn(`perfwatch: setUser() takes a string id (or undefined to clear it); got ${typeof userId}`);
        return;
      }
      guarded('setUser()', () => sdk.setUser(userId));
    },
    get followsSoftNavigations() {
      return sdk.followsSoftNavigations;
    },
    get sessionId() {
      return sdk.sessionId;
    },
    get pageViewId() {
      return sdk.pageViewId;
    },
    monitorApiCall,
    monitorUserInteraction,
    mark,
    measure: (name, start, end) => measure(sdk, name, start, end),
    recordError,
    stats() {
      const [dropped = 0, delivered = 0, refused = 0, beaconed = 0, lostBatches = 0] = sdk.counts();
      return { dropped, delivered, refused, beaconed, lostBatches };
    },
  };
}

/** The origins on `tracePropagationOrigins`, as `URL.origin` writes them. */
function traceOrigins(list: unknown): string[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) {
    console.warn('perfwatch: `tracePropagationOrigins` must be an array of origins; ignored');
    return [];
  }
  return list.flatMap((origin: unknown) => {
    try {
      return [new URL(String(origin)).origin];
    } catch {
      console.warn(`perfwatch: \`tracePropagationOrigins\` entry ${String(origin)} is not a URL; ignored`);
      return [];
    }
  });
}

/**
 * Event Timing entries from before the module loaded. The browser buffers only `event` entries
 * of 104 ms or more for late observers, so interactions during the first moments would be lost:
 * this observer (INP's own settings) keeps them until the module takes over.
 */
function bufferEarlyInteractions(): () => PerformanceEntry[] | undefined {
  const entries: PerformanceEntry[] = [];
  let observer: PerformanceObserver | undefined;
  try {
    observer = new PerformanceObserver((list) => {
      entries.push(...list.getEntries());
    });
    observer.observe({ type: 'event', buffered: true, durationThreshold: 40 } as PerformanceObserverInit);
    observer.observe({ type: 'first-input', buffered: true });
  } catch {
    observer = undefined;
  }
  // Handing over in one synchronous step: the undelivered records join the buffer, then the
  // module starts its own (unbuffered) observer, so no entry is lost or seen twice.
  return () => {
    if (!observer) return undefined;
    entries.push(...observer.takeRecords());
    observer.disconnect();
    return entries;
  };
}

let started: Promise<Monitor> | undefined;
let startedWith: PerfwatchOptions | undefined;

/** What is wrong with `options.endpoint` (the module checks the other options), or `undefined`. */
function endpointProblem(options: PerfwatchOptions): string | undefined {
  if (typeof options !== 'object' || options === null) {
    return 'init() takes an options object: { endpoint, app, key? }';
  }
  const { endpoint } = options;
  let url: URL | undefined;
  try {
    url = new URL(String(endpoint));
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    return `option \`endpoint\` must be the collector's http(s) URL, such as http://127.0.0.1:8001; got ${JSON.stringify(endpoint) ?? String(endpoint)}`;
  }
  return undefined;
}

/**
 * Where the browser does not report soft navigations, a route change through the history API
 * (`pushState` or Back/Forward to another path or query; not a change of the fragment alone)
 * starts a page view for the SDK's own events; web vitals stay with the page load.
 */
function followHistory(monitor: Monitor): void {
  const route = (): string => location.pathname + location.search;
  let current = route();
  const changed = (): void => {
    if (route() === current) return;
    current = route();
    monitor.pageView();
  };
  const pushState = history.pushState;
  history.pushState = function (this: History, ...args: Parameters<History['pushState']>) {
    pushState.apply(this, args);
    changed();
  };
  addEventListener('popstate', changed);
}

/**
 * Starts monitoring the page. Calling it again returns the same monitor. Rejects when a
 * required option is missing or of the wrong type; warns about options it does not know.
 */
export function init(options: PerfwatchOptions): Promise<Monitor> {
  if (started) {
    if (options !== startedWith) console.warn('perfwatch: init() was called before; it returns the running monitor and ignores these options');
    return started;
  }
  const problem = endpointProblem(options);
  if (problem) return Promise.reject(new Error(`perfwatch: ${problem}`));
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) console.warn(`perfwatch: unknown option \`${key}\` is ignored`);
  }
  startedWith = options;
  if (options.captureErrors !== false) captureUnhandled();
  const takeEarly = bufferEarlyInteractions();
  started = loadWasm().then(async () => {
    let sdk: WasmMonitor | undefined;
    const host = createHost((id, status, retryAfter) => sdk?.answered(id, status, retryAfter));
    sdk = initSdk(options, takeEarly(), host) as WasmMonitor;
    running = sdk;
    for (const record of beforeStart.splice(0)) guarded('a record from before init()', () => record(sdk!));
    const monitor = wrap(sdk);
    if (!monitor.followsSoftNavigations) followHistory(monitor);
    const instrument = {
      ownPrefix: String(options.endpoint).replace(/\/+$/, '') + '/api/v1/monitoring/',
      traceOrigins: traceOrigins(options.tracePropagationOrigins),
    };
    if (options.instrumentFetch || options.instrumentXhr) {
      // Loaded only when asked for: a page that does not instrument does not ship it.
      const { instrumentFetch, instrumentXhr } = await import('./instrument.js');
      if (options.instrumentFetch) instrumentFetch(sdk, instrument);
      if (options.instrumentXhr) instrumentXhr(sdk, instrument);
    }
    return monitor;
  });
  started.catch(() => {
    // A failed start may be retried with corrected options; the early buffer stops.
    takeEarly();
    started = undefined;
    startedWith = undefined;
  });
  return started;
}
