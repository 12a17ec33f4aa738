/**
 * The collector's read API as the dashboard uses it: the requests one refresh makes, the shapes
 * of their answers (only the fields shown), and what a failed request means for the person
 * looking at the page.
 */

import { retryAfterMs } from '../host.js';

/** Latency or duration percentiles, milliseconds. */
export interface Percentiles {
  avg: number | null;
  p50: number | null;
  p75: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

/** An API endpoint's statistics (`slowest_endpoints`, `groups`). */
export interface ApiGroup {
  key: string;
  count: number;
  error_rate_percent: number;
  any_error_rate_percent: number;
  latency_ms: Percentiles;
}

export interface ApiStatistics {
  total_requests: number;
  requests_per_second: number;
  error_rate_percent: number;
  any_error_rate_percent: number;
  latency_ms: Percentiles;
  slowest_endpoints: ApiGroup[];
}

export interface Tokens {
  input: number;
  output: number;
  cached_input: number;
  cache_write: number;
  reasoning: number;
}

/** A model's, user's or provider's AI calls. */
export interface AiGroup {
  key: string;
  calls: number;
  success_rate_percent: number | null;
  tokens: Tokens;
  cost: { cost_usd: number };
  latency_ms: Percentiles;
}

export interface AiStatistics {
  total_calls: number;
  success_rate_percent: number | null;
  tokens: Tokens;
  cost: { cost_usd: number; unpriced_calls: number };
  latency_ms: Percentiles;
  top_users_by_cost: AiGroup[];
  groups?: AiGroup[];
}

/** The web vitals, in the order the tables list them. */
export const VITALS = ['LCP', 'INP', 'CLS', 'FCP', 'TTFB'] as const;
export type VitalName = (typeof VITALS)[number];
/** The Core Web Vitals, which the cards and charts show. */
export const CORE_VITALS = VITALS.slice(0, 3) as readonly VitalName[];

/** A vital's p75 and rating shares over a window (`null` without measurements). */
export interface VitalSummary {
  p75: number | null;
  count: number;
  good_percent: number | null;
  needs_improvement_percent: number | null;
  poor_percent: number | null;
}

export interface PageVitals {
  page: string;
  page_views: number;
  vitals: Record<VitalName, VitalSummary>;
}

export interface FrontendVitals {
  page_views: number;
  vitals: Record<VitalName, VitalSummary>;
  pages?: PageVitals[];
}

export interface SessionStatistics {
  active_users: { minutes: number; users: number; sessions: number };
  sessions_started: number;
}

/** An alert as `/alerts` and the dashboard list it. */
export interface Alert {
  name: string;
  fingerprint: string;
  state: 'pending' | 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value: number | null;
  active_at_ms: number;
  starts_at_ms: number | null;
  ends_at_ms: number | null;
  silenced_by: string[];
  inhibited: boolean;
}

export type HostStatus = 'healthy' | 'warning' | 'critical';

/** `GET /api/v1/monitoring/dashboard?hours=` */
export interface DashboardAnswer {
  hours: number;
  from_ms: number;
  to_ms: number;
  system_overview: {
    current: { cpu_usage: number | null; memory_usage: number; disk_usage: number | null } | null;
    status?: HostStatus;
    reasons?: string[];
  };
  api_statistics: ApiStatistics;
  ai_statistics: AiStatistics;
  frontend_vitals: FrontendVitals;
  sessions: SessionStatistics;
  active_alerts: Alert[];
}

/** A host sample of `/system/metrics`' history. */
export interface HostPoint {
  at_ms: number;
  cpu_percent: number | null;
  memory_percent: number | null;
}

/** `GET /api/v1/monitoring/system/metrics?minutes=` (the history part). */
export interface SystemMetricsAnswer {
  host: string;
  history: { samples: number; points: HostPoint[] };
}

/** Values per bucket; `null` where a bucket has nothing to measure. */
export type Column = Array<number | null>;

/** `GET /api/v1/monitoring/timeseries?hours=`: columns over the window's buckets. */
export interface TimeseriesAnswer {
  step_ms: number;
  times_ms: number[];
  api: {
    requests: Column;
    requests_per_second: Column;
    error_rate_percent: Column;
    latency_p50_ms: Column;
    latency_p95_ms: Column;
    latency_p99_ms: Column;
  };
  ai: {
    calls: Column;
    cost_usd: Column;
    cost_usd_by_model: Array<{ model: string; values: Column }>;
  };
  vitals: Record<VitalName, { p75: Column; count: Column }>;
}

/** `GET /api/v1/monitoring/alerts` */
export interface AlertsAnswer {
  active: Alert[];
  history: Alert[];
}

/** Everything one refresh shows; a part whose request failed holds its {@link Problem}. */
export interface DashboardData {
  hours: number;
  /** When the answers were received, epoch ms. */
  at_ms: number;
  dashboard: DashboardAnswer;
  aiToday: AiStatistics | Problem;
  aiByModel: AiStatistics | Problem;
  pages: FrontendVitals | Problem;
  system: SystemMetricsAnswer | Problem;
  timeseries: TimeseriesAnswer | Problem;
  alerts: AlertsAnswer | Problem;
}

/** Why a request failed, and what the person looking can do about it. */
export interface Problem {
  kind: 'unreachable' | 'token_needed' | 'token_rejected' | 'forbidden' | 'busy' | 'failed';
  /** What happened and what to do, in words. */
  message: string;
  /** The HTTP status, when there was an answer. */
  status?: number;
  /** Seconds the collector asked to wait (`Retry-After`), when busy. */
  retryAfterSeconds?: number;
}

/** The soonest `Retry-After` among `problems`, in seconds. */
export function soonestRetry(problems: Array<Problem | undefined>): number | undefined {
  const waits = problems.flatMap((p) => (p?.retryAfterSeconds === undefined ? [] : [p.retryAfterSeconds]));
  return waits.length ? Math.min(...waits) : undefined;
}

export function isProblem(value: unknown): value is Problem {
  return typeof value === 'object' && value !== null && 'kind' in value && 'message' in value;
}

/** A failed request, thrown by {@link Client.get}. */
export class DashboardError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.message);
    this.name = 'DashboardError';
  }
}

/** The paths one refresh asks for, for a window of `hours` ending now (`now`: epoch ms). */
export function refreshPaths(hours: number, now: number) {
  const h = encodeURIComponent(String(hours));
  const midnight = new Date(now);
  midnight.setHours(0, 0, 0, 0);
  const today = `from=${encodeURIComponent(midnight.toISOString())}&to=${encodeURIComponent(new Date(now).toISOString())}`;
  return {
    dashboard: `/api/v1/monitoring/dashboard?hours=${h}`,
    aiToday: `/api/v1/monitoring/ai/stats?${today}`,
    aiByModel: `/api/v1/monitoring/ai/stats?hours=${h}&group_by=model`,
    pages: `/api/v1/monitoring/frontend/vitals?hours=${h}&group_by=page`,
    system: `/api/v1/monitoring/system/metrics?minutes=${encodeURIComponent(String(hours * 60))}`,
    timeseries: `/api/v1/monitoring/timeseries?hours=${h}`,
    alerts: `/api/v1/monitoring/alerts`,
  } as const;
}

/** Reads the collector at `endpoint`, with a read token when there is one. */
export class Client {
  readonly endpoint: string;

  constructor(
    endpoint: string,
    private readonly token: string | undefined,
  ) {
    this.endpoint = endpoint.replace(/\/+$/, '');
  }

  /** The `data` of the answer to `path`; throws a {@link DashboardError} saying what went wrong. */
  async get<T>(path: string, signal?: AbortSignal): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let response: Response;
    try {
      response = await fetch(this.endpoint + path, { headers, signal: signal ?? null, credentials: 'omit' });
    } catch (error) {
      if ((error as Error)?.name === 'AbortError') throw error;
      throw new DashboardError({
        kind: 'unreachable',
        message: `Cannot reach the collector at ${this.endpoint}. Check that it is running and that this address is right; if the dashboard is on another origin, add that origin to the collector's read_origins.`,
      });
    }
    let body: { success?: boolean; data?: T; error?: { code?: string; message?: string } } | undefined;
    try {
      body = (await response.json()) as typeof body;
    } catch {
      body = undefined;
    }
    if (response.ok && body?.success) return body.data as T;
    throw new DashboardError(problemOf(response, body?.error?.message, this.token !== undefined));
  }
}

/** The longest `Retry-After` the dashboard waits for before trying again by itself. */
export const MAX_RETRY_AFTER_SECONDS = 300;

/** What an unsuccessful answer means for the person looking at the dashboard. */
function problemOf(response: Response, said: string | undefined, hadToken: boolean): Problem {
  const status = response.status;
  const detail = said ? ` The collector said: ${said}` : '';
  if (status === 401) {
    return hadToken
      ? { kind: 'token_rejected', status, message: `The collector rejected the read token. Enter a valid one: the secret of one of its read_tokens or admin_tokens.${detail}` }
      : { kind: 'token_needed', status, message: `The collector needs a read token: the secret of one of its read_tokens or admin_tokens.${detail}` };
  }
  if (status === 403) {
    return { kind: 'forbidden', status, message: `The collector refused this page's request: allow this origin in its read_origins, or use a token with read access.${detail}` };
  }
  if (status === 429 || status === 503) {
    // Seconds or an HTTP date, read as the SDK reads it.
    const waitMs = retryAfterMs(response.headers.get('retry-after'));
    const retry = Math.ceil(waitMs / 1000);
    if (waitMs >= 0 && retry <= MAX_RETRY_AFTER_SECONDS) {
      return { kind: 'busy', status, retryAfterSeconds: retry, message: `The collector is busy (${status}). Trying again in ${retry} s.${detail}` };
    }
    return { kind: 'busy', status, message: `The collector is busy (${status}). Trying again at the next refresh.${detail}` };
  }
  if (status === 404) {
    return { kind: 'failed', status, message: `The collector does not know this request (404): it may be older than this dashboard; update it.${detail}` };
  }
  return { kind: 'failed', status, message: `The collector answered ${status}.${detail || ' See its log.'}` };
}

/**
 * One refresh: every request side by side. The overview must succeed (its problem is
 * thrown); any other part that fails is kept as its problem, so the rest still shows.
 */
export async function loadDashboard(client: Client, hours: number, signal?: AbortSignal): Promise<DashboardData> {
  const now = Date.now();
  const paths = refreshPaths(hours, now);
  const part = <T>(path: string): Promise<T | Problem> =>
    client.get<T>(path, signal).catch((error: unknown) => {
      if (error instanceof DashboardError) return error.problem;
      throw error;
    });
  const [dashboard, aiToday, aiByModel, pages, system, timeseries, alerts] = await Promise.all([
    client.get<DashboardAnswer>(paths.dashboard, signal),
    part<AiStatistics>(paths.aiToday),
    part<AiStatistics>(paths.aiByModel),
    part<FrontendVitals>(paths.pages),
    part<SystemMetricsAnswer>(paths.system),
    part<TimeseriesAnswer>(paths.timeseries),
    part<AlertsAnswer>(paths.alerts),
  ]);
  return { hours, at_ms: Date.now(), dashboard, aiToday, aiByModel, pages, system, timeseries, alerts };
}
