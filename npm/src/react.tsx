/**
 * perfwatch for React (`perfwatch/react`): a provider that starts the monitor once, a hook that
 * hands its functions to components, a hook that names page views after the route, and an error
 * boundary that records render errors.
 *
 * ```tsx
 * <PerformanceMonitorProvider options={{ endpoint: 'http://127.0.0.1:8001', app: 'ai-hub' }}>
 *   <PerformanceErrorBoundary fallback={<p>Something went wrong.</p>}>
 *     <App />
 *   </PerformanceErrorBoundary>
 * </PerformanceMonitorProvider>
 *
 * const { monitorApiCall } = usePerformanceMonitor();
 * const models = await monitorApiCall('GET /models', () => fetch('/api/models'));
 * ```
 *
 * The monitor starts in an effect, so server-side rendering does nothing, and StrictMode's
 * double mount starts it once (`init()` returns the running monitor). Until it has started (the
 * module loads asynchronously), API calls and interactions are timed and sent once it has;
 * on the server they just run.
 */
import {
  Component,
  createContext,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  type ErrorInfo,
  type ReactNode,
} from 'react';

import {
  init,
  monitorApiCall as monitorApiCallBeforeStart,
  monitorUserInteraction as monitorUserInteractionBeforeStart,
  recordError as recordErrorBeforeStart,
  type ErrorContext,
  type Monitor,
  type PerfwatchOptions,
} from './index.js';

/** In a browser, calls made before the monitor starts are timed and sent once it has. */
const inBrowser = typeof window !== 'undefined';

/** What {@link usePerformanceMonitor} returns. The functions keep their identity across renders. */
export interface PerformanceMonitorValue {
  /** The running monitor; `undefined` until it has started, on the server, and outside a provider. */
  monitor: Monitor | undefined;
  /** `monitor.report()`: send what was measured now. */
  report: () => void;
  /** `monitor.monitorApiCall`; before the monitor starts, timed and sent once it has (on the server, just run). */
  monitorApiCall: Monitor['monitorApiCall'];
  /** `monitor.monitorUserInteraction`; before the monitor starts, as `monitorApiCall`. */
  monitorUserInteraction: Monitor['monitorUserInteraction'];
  /** `monitor.recordError`; before the monitor starts, as `monitorApiCall`. */
  recordError: (error: unknown, context?: ErrorContext) => void;
}

/**
 * The functions over whatever monitor `current()` gives. While there is none, in a browser,
 * perfwatch's own pre-start functions time and keep what they get until `init()` has finished
 * (a render error in the first render, say); on the server, calls just run.
 */
function functionsOver(current: () => Monitor | undefined): Omit<PerformanceMonitorValue, 'monitor'> {
  return {
    report: () => current()?.report(),
    monitorApiCall: (name, call, options) => {
      const monitor = current();
      if (monitor) return monitor.monitorApiCall(name, call, options);
      if (inBrowser) return monitorApiCallBeforeStart(name, call, options);
      return typeof call === 'function' ? (call as () => never)() : call;
    },
    monitorUserInteraction: (name, handler) => {
      const monitor = current();
      if (monitor) return monitor.monitorUserInteraction(name, handler);
      if (inBrowser) return monitorUserInteractionBeforeStart(name, handler);
      return typeof handler === 'function' ? handler() : undefined;
    },
    recordError: (error, context) => {
      const monitor = current();
      if (monitor) monitor.recordError(error, context);
      else if (inBrowser) recordErrorBeforeStart(error, context);
    },
  };
}

function isMonitor(value: unknown): value is Monitor {
  return typeof value === 'object' && value !== null && typeof (value as Monitor).report === 'function';
}

/** Outside a provider: nothing is recorded, everything runs. */
const NO_MONITOR: PerformanceMonitorValue = { monitor: undefined, ...functionsOver(() => undefined) };

const PerformanceMonitorContext = createContext<PerformanceMonitorValue>(NO_MONITOR);

/** Props of {@link PerformanceMonitorProvider}: the options to start perfwatch with, or a monitor. */
export type PerformanceMonitorProviderProps = {
  children?: ReactNode;
} & (
  | {
      /** Passed to `init()` once, on the first mount; later changes are ignored (with a warning). */
      options: PerfwatchOptions;
      monitor?: never;
    }
  | {
      /** A monitor the app started itself (`init()`'s promise, or its result). */
      monitor: Monitor | Promise<Monitor>;
      options?: never;
    }
);

/** Starts perfwatch (once) and gives its monitor to the components below. */
export function PerformanceMonitorProvider(props: PerformanceMonitorProviderProps): ReactNode {
  // A monitor given as such is there from the first render.
  const [monitor, setMonitor] = useState<Monitor | undefined>(() =>
    isMonitor(props.monitor) ? props.monitor : undefined,
  );
  const current = useRef<Monitor | undefined>(monitor);
  current.current = monitor;
  const first = useRef(props);
  if (props.options && first.current.options && props.options !== first.current.options) {
    warnOnce('PerformanceMonitorProvider: `options` changed after the monitor started; the change is ignored');
  }
  useEffect(() => {
    let mounted = true;
    const { options, monitor: given } = first.current;
    const starting = given ?? (options ? init(options) : undefined);
    Promise.resolve(starting).then(
      (started) => {
        if (mounted && started) setMonitor(started);
      },
      (error: unknown) => console.warn(`perfwatch: the monitor did not start: ${String(error)}`),
    );
    return () => {
      mounted = false;
    };
  }, []);
  const functions = useMemo(() => functionsOver(() => current.current), []);
  const value = useMemo(() => ({ monitor, ...functions }), [monitor, functions]);
  return (
    <PerformanceMonitorContext.Provider value={value}>{props.children}</PerformanceMonitorContext.Provider>
  );
}

const warned = new Set<string>();
function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  console.warn(`perfwatch: ${message}`);
}

/** The monitor and its functions, from the nearest {@link PerformanceMonitorProvider}. */
export function usePerformanceMonitor(): PerformanceMonitorValue {
  return useContext(PerformanceMonitorContext);
}

/**
 * Names the current page view after `route`, the route's template (`/chat/:id`, not the URL),
 * whenever it changes. Call it where the router knows the matched route, e.g. with React
 * Router: `usePageViewRoute(useMatches().at(-1)?.id)`. The page views themselves start with the
 * browser's soft navigations or history changes; this only names them.
 */
export function usePageViewRoute(route: string | undefined): void {
  const { monitor } = usePerformanceMonitor();
  useEffect(() => {
    if (monitor && route) monitor.setRoute(route);
  }, [monitor, route]);
}

/** Props of {@link PerformanceErrorBoundary}. */
export interface PerformanceErrorBoundaryProps {
  children?: ReactNode;
  /** What to render instead of the children that failed (default: nothing). */
  fallback?: ReactNode | ((error: unknown) => ReactNode);
}

/**
 * An error boundary that records the render errors it catches as `error` events (`kind:
 * 'render'`, with React's component stack), then renders `fallback`.
 */
export class PerformanceErrorBoundary extends Component<PerformanceErrorBoundaryProps, { failed: boolean; error: unknown }> {
  static override contextType = PerformanceMonitorContext;
  declare context: PerformanceMonitorValue;
  override state = { failed: false, error: undefined as unknown };

  static getDerivedStateFromError(error: unknown): { failed: boolean; error: unknown } {
    return { failed: true, error };
  }

  override componentDidCatch(error: unknown, info: ErrorInfo): void {
    this.context.recordError(error, {
      kind: 'render',
      ...(info.componentStack ? { componentStack: info.componentStack } : {}),
    });
  }

  override render(): ReactNode {
    if (!this.state.failed) return this.props.children;
    const { fallback } = this.props;
    return typeof fallback === 'function' ? fallback(this.state.error) : (fallback ?? null);
  }
}
