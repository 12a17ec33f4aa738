/**
 * perfwatch's dashboard for React (`perfwatch/dashboard`): the collector's numbers at a glance.
 * Overview cards (the host, API requests, AI today, users, web vitals, alerts), time-series
 * charts (uPlot) and tables, over a time range from 15 minutes to 30 days, refreshed on its own.
 *
 * ```tsx
 * import { PerformanceDashboard } from 'perfwatch/dashboard';
 * <PerformanceDashboard endpoint="http://127.0.0.1:8001" hours={1} />
 * ```
 *
 * It reads the collector's API from the browser: on another origin than the collector, add the
 * page's origin to the collector's `read_origins`; with read tokens configured, pass `token`, or
 * let the dashboard ask for one (kept for the tab in sessionStorage). This entry point is the
 * only one that imports the charts, so an app that only monitors never downloads them.
 */
import { useCallback, useEffect, useId, useMemo, useRef, useState, type FormEvent, type ReactNode } from 'react';

import { Client, DashboardError, isProblem, loadDashboard, soonestRetry, type DashboardData, type Problem } from './dashboard/api.js';
import { Cards } from './dashboard/cards.js';
import { Charts } from './dashboard/charts.js';
import { clock, RANGES, rangeLabel } from './dashboard/format.js';
import { injectStyles } from './dashboard/styles.js';
import { Tables } from './dashboard/tables.js';

export type { DashboardData, Problem } from './dashboard/api.js';
export { RANGES } from './dashboard/format.js';

/** Props of {@link PerformanceDashboard}. */
export interface PerformanceDashboardProps {
  /** The collector's URL, such as `http://127.0.0.1:8001` (its page passes its own origin). */
  endpoint: string;
  /** The time range shown first, in hours (decimals allowed: 0.25 is 15 minutes); default 1. */
  hours?: number;
  /** A read token's secret (of the collector's `read_tokens` or `admin_tokens`), sent as `Authorization: Bearer`. */
  token?: string;
  /** Ask for a token when the collector wants one and `token` is not given (default true). */
  askForToken?: boolean;
  /** Seconds between refreshes while the page is visible; 0 turns it off (default 30). */
  refreshSeconds?: number;
  /** The heading (default "Performance"). */
  title?: string;
  /** Called with the range the person chose (to keep it in the page's URL, say). */
  onHoursChange?: (hours: number) => void;
}

/** Where the token typed into the dashboard is kept for the tab. */
const TOKEN_KEY = 'perfwatch.dashboard.token';

function storedToken(): string | undefined {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

function storeToken(token: string) {
  try {
    sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Storage refused (private mode): the token lasts as long as the component.
  }
}

interface Loaded {
  data: DashboardData | undefined;
  problem: Problem | undefined;
  loading: boolean;
}

/** Loads the dashboard for `hours`, again every `refreshSeconds` while the page is visible. */
function useDashboard(client: Client, hours: number, refreshSeconds: number): Loaded & { refresh: () => void } {
  const [state, setState] = useState<Loaded>({ data: undefined, problem: undefined, loading: true });
  const running = useRef<AbortController | null>(null);

  const refresh = useCallback(() => {
    running.current?.abort();
    const controller = new AbortController();
    running.current = controller;
    setState((s) => ({ ...s, loading: true }));
    loadDashboard(client, hours, controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setState({ data, problem: undefined, loading: false });
      },
      (error: unknown) => {
        if (controller.signal.aborted) return;
        const problem: Problem =
          error instanceof DashboardError ? error.problem : { kind: 'failed', message: `The dashboard failed: ${String(error)}` };
        // Data of another range would mislead: it is kept only across refreshes of the same one.
        setState((s) => ({ data: s.data?.hours === hours ? s.data : undefined, problem, loading: false }));
      },
    );
  }, [client, hours]);

  useEffect(() => {
    refresh();
    return () => running.current?.abort();
  }, [refresh]);

  // A busy collector said when to come back (Retry-After): the dashboard does, once.
  const retry = state.loading
    ? undefined
    : soonestRetry([state.problem, ...Object.values(state.data ?? {}).filter(isProblem)]);
  useEffect(() => {
    if (retry === undefined) return;
    const timer = setTimeout(refresh, retry * 1000);
    return () => clearTimeout(timer);
  }, [retry, refresh, state.data, state.problem]);

  // Refreshes while visible; a tab shown again after a refresh was due refreshes at once.
  const receivedAt = state.data?.at_ms;
  useEffect(() => {
    if (!(refreshSeconds > 0)) return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') refresh();
    }, refreshSeconds * 1000);
    const shown = () => {
      const due = receivedAt === undefined || Date.now() - receivedAt >= refreshSeconds * 1000;
      if (document.visibilityState === 'visible' && due) refresh();
    };
    document.addEventListener('visibilitychange', shown);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', shown);
    };
  }, [refresh, refreshSeconds, receivedAt]);

  return { ...state, refresh };
}

/** Asks for a read token. */
function TokenForm({ problem, onToken }: { problem: Problem; onToken: (token: string) => void }) {
  const id = useId();
  const [value, setValue] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (value.trim()) onToken(value.trim());
  };
  return (
    <section className="pw-token" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>Read token needed</h3>
      <p className="pw-problem" role="alert">
        {problem.message}
      </p>
      <form onSubmit={submit}>
        <label>
          Read token
          <input type="password" autoComplete="current-password" value={value} onChange={(e) => setValue(e.target.value)} required />
        </label>
        <button type="submit">Show the dashboard</button>
      </form>
    </section>
  );
}

/** The dashboard. */
export function PerformanceDashboard(props: PerformanceDashboardProps): ReactNode {
  const askForToken = props.askForToken ?? true;
  const [hours, setHours] = useState(props.hours ?? 1);
  const [typedToken, setTypedToken] = useState<string | undefined>(() => (askForToken ? storedToken() : undefined));
  const token = props.token ?? typedToken;
  const client = useMemo(() => new Client(props.endpoint, token), [props.endpoint, token]);
  const headingId = useId();

  useEffect(injectStyles, []);
  useEffect(() => setHours(props.hours ?? 1), [props.hours]);

  const refreshSeconds = props.refreshSeconds ?? 30;
  const { data, problem, loading, refresh } = useDashboard(client, hours, refreshSeconds);
  const needsToken = askForToken && !props.token && (problem?.kind === 'token_needed' || problem?.kind === 'token_rejected');
  const ranges = RANGES.some((r) => r.hours === hours) ? RANGES : [...RANGES, { hours, label: rangeLabel(hours) }];

  return (
    <div className="pw-dashboard" aria-labelledby={headingId} aria-busy={loading}>
      <header className="pw-header">
        <h2 id={headingId}>{props.title ?? 'Performance'}</h2>
        <div className="pw-controls">
          <label>
            Time range{' '}
            <select
              value={String(hours)}
              onChange={(e) => {
                const chosen = Number(e.target.value);
                setHours(chosen);
                props.onHoursChange?.(chosen);
              }}
            >
              {ranges.map((r) => (
                <option key={r.hours} value={String(r.hours)}>
                  Last {r.label}
                </option>
              ))}
            </select>
          </label>
          <button type="button" onClick={refresh} disabled={loading}>
            {loading ? 'Refreshing…' : 'Refresh'}
          </button>
          <span className="pw-updated" role="status" aria-live="polite">
            {data ? (
              <>
                Updated <time dateTime={new Date(data.at_ms).toISOString()}>{clock(data.at_ms)}</time>
                {refreshSeconds > 0 ? `, every ${refreshSeconds} s` : ''}
              </>
            ) : loading ? (
              'Loading…'
            ) : (
              'Not loaded'
            )}
          </span>
        </div>
      </header>
      {needsToken && problem ? (
        <TokenForm
          problem={problem}
          onToken={(t) => {
            storeToken(t);
            setTypedToken(t);
          }}
        />
      ) : (
        problem && (
          <p className="pw-problem" role="alert" data-testid="problem">
            {problem.message}
            {data ? ` Showing the answer of ${clock(data.at_ms)}.` : ''}
          </p>
        )
      )}
      {data && !needsToken && (
        <>
          <h2 className="pw-sr">Overview, last {rangeLabel(data.hours)}</h2>
          <Cards data={data} />
          <h2 className="pw-sr">Over time</h2>
          <Charts data={data} />
          <h2 className="pw-sr">Details</h2>
          <Tables data={data} />
        </>
      )}
    </div>
  );
}
