/**
 * perfwatch: real-user performance monitoring. The measuring is done by a Rust/WebAssembly
 * module, loaded asynchronously so that importing this package never delays the first paint.
 *
 * ```ts
 * import { init } from 'perfwatch';
 * const monitor = await init({ endpoint: 'http://127.0.0.1:8001', app: 'ai-hub', key: 'pk_...' });
 * ```
 */
import loadWasm, { init as initSdk } from '../wasm/perfwatch_sdk.js';

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
  /** Whether the browser reports soft navigations, which the SDK then follows itself. */
  readonly followsSoftNavigations: boolean;
  readonly sessionId: string;
  readonly pageViewId: string;
}

const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  'endpoint', 'app', 'key', 'release', 'userId', 'route', 'sampleRate', 'onMetric',
  'maxResources', 'resourceSampleRate', 'maxLongTasks',
]);

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
  if (started) return started;
  for (const key of Object.keys(options ?? {})) {
    if (!KNOWN_OPTIONS.has(key)) console.warn(`perfwatch: unknown option \`${key}\` is ignored`);
  }
  const takeEarly = bufferEarlyInteractions();
  started = loadWasm().then(() => {
    const monitor = initSdk(options, takeEarly()) as Monitor;
    if (!monitor.followsSoftNavigations) followHistory(monitor);
    return monitor;
  });
  started.catch(() => {
    // A failed start may be retried with corrected options; the early buffer stops.
    takeEarly();
    started = undefined;
  });
  return started;
}
