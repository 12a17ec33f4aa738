// @vitest-environment jsdom
// The React bindings (src/react.tsx) in jsdom. The WebAssembly module does not run here (jsdom
// has no PerformanceObserver), so the monitor is a recording stand-in with the public Monitor
// shape; the real one runs in the end-to-end tests (tests/e2e/). `init` is replaced the same way
// for the provider's `options` path.
import { act, cleanup, render } from '@testing-library/react';
import { StrictMode, useEffect, useState } from 'react';
import { renderToString } from 'react-dom/server';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { Monitor } from '../src/index.js';

const initCalls: unknown[] = [];
/** What reached perfwatch's own `recordError` (the one that waits for `init()`). */
const errorsBeforeStart: unknown[][] = [];
let nextMonitor: Monitor;

vi.mock('../src/index.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../src/index.js')>();
  return {
    ...actual,
    // As the real init: one monitor per page, whatever the number of calls.
    init: vi.fn((options: unknown) => {
      initCalls.push(options);
      return Promise.resolve(nextMonitor);
    }),
    recordError: vi.fn((...args: unknown[]) => {
      errorsBeforeStart.push(args);
    }),
  };
});

const { PerformanceErrorBoundary, PerformanceMonitorProvider, usePageViewRoute, usePerformanceMonitor } = await import(
  '../src/react.js'
);

/** A monitor that records what it is asked. */
function recordingMonitor() {
  const calls: Array<[string, ...unknown[]]> = [];
  const monitor = {
    report: () => calls.push(['report']),
    pageView: (route?: string) => calls.push(['pageView', route]),
    setRoute: (route?: string) => calls.push(['setRoute', route]),
    setUser: (user?: string) => calls.push(['setUser', user]),
    followsSoftNavigations: false,
    sessionId: 's',
    pageViewId: 'p',
    monitorApiCall: (name: string, call: unknown) => {
      calls.push(['monitorApiCall', name]);
      return typeof call === 'function' ? (call as () => unknown)() : call;
    },
    monitorUserInteraction: (name: string, handler: () => unknown) => {
      calls.push(['monitorUserInteraction', name]);
      return handler();
    },
    mark: () => undefined,
    measure: () => undefined,
    recordError: (error: unknown, context?: unknown) => calls.push(['recordError', error, context]),
    stats: () => ({ dropped: 0, delivered: 0, refused: 0, beaconed: 0, lostBatches: 0 }),
  } as unknown as Monitor;
  return { monitor, calls };
}

const OPTIONS = { endpoint: 'http://127.0.0.1:8001', app: 'test' };

beforeEach(() => {
  initCalls.length = 0;
});
afterEach(cleanup);

describe('PerformanceMonitorProvider and usePerformanceMonitor', () => {
  it("hands the one monitor down under StrictMode's double mount", async () => {
    const { monitor } = recordingMonitor();
    nextMonitor = monitor;
    const seen: Array<Monitor | undefined> = [];
    function Probe() {
      seen.push(usePerformanceMonitor().monitor);
      return null;
    }
    await act(async () => {
      render(
        <StrictMode>
          <PerformanceMonitorProvider options={OPTIONS}>
            <Probe />
          </PerformanceMonitorProvider>
        </StrictMode>,
      );
    });
    expect(initCalls.length).toBeGreaterThanOrEqual(1);
    expect(new Set(initCalls)).toEqual(new Set([OPTIONS]));
    expect(seen[0]).toBeUndefined();
    expect(seen.at(-1)).toBe(monitor);
  });

  it('keeps the functions identical across renders, before and after the monitor starts', async () => {
    const { monitor, calls } = recordingMonitor();
    let resolve!: (m: Monitor) => void;
    const pending = new Promise<Monitor>((r) => {
      resolve = r;
    });
    const values: ReturnType<typeof usePerformanceMonitor>[] = [];
    function Probe() {
      const value = usePerformanceMonitor();
      const [, setTick] = useState(0);
      values.push(value);
      useEffect(() => setTick(1), []);
      return null;
    }
    await act(async () => {
      render(
        <PerformanceMonitorProvider monitor={pending}>
          <Probe />
        </PerformanceMonitorProvider>,
      );
    });
    // Before the monitor: the call runs, unrecorded.
    expect(values.at(-1)!.monitorApiCall('GET /early', () => 7)).toBe(7);
    await act(async () => resolve(monitor));
    const [first, last] = [values[0]!, values.at(-1)!];
    expect(last.monitor).toBe(monitor);
    for (const key of ['report', 'monitorApiCall', 'monitorUserInteraction', 'recordError'] as const) {
      expect(last[key]).toBe(first[key]);
    }
    // The same functions now record through the monitor.
    expect(first.monitorApiCall('GET /models', () => 'models')).toBe('models');
    first.report();
    expect(calls).toEqual([['monitorApiCall', 'GET /models'], ['report']]);
  });

  it('renders on the server without starting anything, the functions running what they get', () => {
    let value: ReturnType<typeof usePerformanceMonitor> | undefined;
    function Probe() {
      value = usePerformanceMonitor();
      return <p>{value.monitorUserInteraction('ssr', () => 'ran')}</p>;
    }
    const html = renderToString(
      <PerformanceMonitorProvider options={OPTIONS}>
        <Probe />
      </PerformanceMonitorProvider>,
    );
    expect(html).toContain('ran');
    expect(initCalls).toEqual([]);
    expect(value!.monitor).toBeUndefined();
  });

  it('outside a provider the hook still works and records nothing', () => {
    let result: unknown;
    function Probe() {
      result = usePerformanceMonitor().monitorApiCall('GET /x', () => 'through');
      return null;
    }
    render(<Probe />);
    expect(result).toBe('through');
  });
});

describe('usePageViewRoute', () => {
  it('names the page view after the route, again when it changes', async () => {
    const { monitor, calls } = recordingMonitor();
    function Page({ route }: { route: string }) {
      usePageViewRoute(route);
      return null;
    }
    const view = render(
      <PerformanceMonitorProvider monitor={monitor}>
        <Page route="/chat/:id" />
      </PerformanceMonitorProvider>,
    );
    await act(async () => {});
    view.rerender(
      <PerformanceMonitorProvider monitor={monitor}>
        <Page route="/models" />
      </PerformanceMonitorProvider>,
    );
    expect(calls.filter(([what]) => what === 'setRoute')).toEqual([
      ['setRoute', '/chat/:id'],
      ['setRoute', '/models'],
    ]);
  });
});

describe('PerformanceErrorBoundary', () => {
  it('records a render error with its component stack and renders the fallback', async () => {
    const { monitor, calls } = recordingMonitor();
    const broken = new TypeError('answer is undefined');
    function Chat(): never {
      throw broken;
    }
    // React reports caught errors on the console too; keep the test output quiet.
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    let view!: ReturnType<typeof render>;
    await act(async () => {
      view = render(
        <PerformanceMonitorProvider monitor={monitor}>
          <PerformanceErrorBoundary fallback={(error) => <p>failed: {String((error as Error).message)}</p>}>
            <Chat />
          </PerformanceErrorBoundary>
        </PerformanceMonitorProvider>,
      );
    });
    quiet.mockRestore();
    expect(view.container.textContent).toBe('failed: answer is undefined');
    const recorded = calls.filter(([what]) => what === 'recordError');
    expect(recorded).toHaveLength(1);
    const [, error, context] = recorded[0]!;
    expect(error).toBe(broken);
    expect((context as { kind: string }).kind).toBe('render');
    expect((context as { componentStack: string }).componentStack).toContain('Chat');
  });
});

describe('PerformanceErrorBoundary before the monitor has started', () => {
  it("hands the error to perfwatch's own recordError, which keeps it until init() has finished", async () => {
    const { monitor, calls } = recordingMonitor();
    let resolve!: (m: Monitor) => void;
    const pending = new Promise<Monitor>((r) => {
      resolve = r;
    });
    function Chat(): never {
      throw new Error('too early');
    }
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    await act(async () => {
      render(
        <PerformanceMonitorProvider monitor={pending}>
          <PerformanceErrorBoundary>
            <Chat />
          </PerformanceErrorBoundary>
        </PerformanceMonitorProvider>,
      );
    });
    quiet.mockRestore();
    // Not on the (not yet started) monitor, but with perfwatch's recordError, which sends it
    // once init() has finished (the buffer monitorApiCall shares, which tests/e2e/example.test.mjs
    // exercises in a browser).
    expect(errorsBeforeStart).toHaveLength(1);
    const [error, context] = errorsBeforeStart[0]!;
    expect((error as Error).message).toBe('too early');
    expect((context as { kind: string }).kind).toBe('render');
    await act(async () => resolve(monitor));
    expect(calls.filter(([what]) => what === 'recordError')).toEqual([], 'recorded once, not again');
  });
});
