// @vitest-environment jsdom
// PerformanceDashboard (src/dashboard.tsx) in jsdom, over a real collector's answers recorded by
// test/fixtures/record-dashboard.mjs: its loading, loaded, range, refresh and error states.
// jsdom cannot draw on a canvas, so the charts show their legends only here; the end-to-end
// test (tests/e2e/dashboard.test.mjs) draws them in Chromium against a live collector.
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import recordedAnswers from './fixtures/dashboard-answers.json';

// uPlot watches the device pixel ratio with matchMedia when it loads; jsdom has none.
vi.hoisted(() => {
  window.matchMedia ??= ((query: string) => ({
    matches: false,
    media: query,
    addEventListener() {},
    removeEventListener() {},
  })) as never;
});
const { PerformanceDashboard } = await import('../src/dashboard.js');

interface Recorded {
  answers: Record<string, { path: string; data: any }>;
}
const recorded = recordedAnswers as unknown as Recorded;
const answers = recorded.answers;

/** The recorded answer's key for a request URL (by path; the query is checked by the tests). */
function keyOf(url: string): string {
  const { pathname, searchParams } = new URL(url);
  if (pathname.endsWith('/ai/stats')) return searchParams.has('group_by') ? 'aiByModel' : 'aiToday';
  const key = Object.keys(answers).find((k) => new URL(answers[k]!.path, 'http://x').pathname === pathname);
  if (!key) throw new Error(`no recorded answer for ${url}`);
  return key;
}

const ENDPOINT = 'http://collector.test:8001';
let requests: Array<{ url: string; authorization: string | undefined }>;
/** What the stand-in collector answers a request with; by default the recorded answer. */
let answer: (key: string, url: string, init: RequestInit) => Promise<Response> | Response;

function json(status: number, body: unknown, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

beforeEach(() => {
  requests = [];
  answer = (key) => json(200, { success: true, data: answers[key]!.data });
  HTMLCanvasElement.prototype.getContext = (() => null) as never;
  sessionStorage.clear();
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit) => {
      const headers = (init.headers ?? {}) as Record<string, string>;
      requests.push({ url, authorization: headers.authorization });
      return answer(keyOf(url), url, init);
    }),
  );
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

/** The figure `metric` of the card `card`. */
function figure(card: string, metric: string): HTMLElement {
  const element = screen.getByTestId(card).querySelector<HTMLElement>(`[data-metric="${metric}"]`);
  if (!element) throw new Error(`no ${metric} in ${card}`);
  return element;
}

async function loaded() {
  await screen.findByTestId('card-system');
}

describe('PerformanceDashboard', () => {
  it('says it is loading until the collector answers', async () => {
    let release: () => void = () => {};
    answer = (key) =>
      new Promise((resolve) => {
        release = () => resolve(json(200, { success: true, data: answers[key]!.data }));
      });
    render(<PerformanceDashboard endpoint={ENDPOINT} />);
    expect(screen.getByRole('status').textContent).toBe('Loading…');
    expect(screen.getByRole('button', { name: 'Refreshing…' })).toHaveProperty('disabled', true);
    expect(screen.queryByTestId('card-system')).toBeNull();
    await act(async () => release());
  });

  it('shows every card with the numbers the API answered', async () => {
    render(<PerformanceDashboard endpoint={ENDPOINT} />);
    await loaded();
    const d = answers.dashboard!.data;
    const today = answers.aiToday!.data;
    // The raw value is the API's; the text is how a person reads it, written out here for the
    // recorded answers (CPU 50.505 %, memory 3.565 %, disk 80.498 %, 0.0272 requests/s, 5xx
    // 3.0612 %, p95 1130.23 ms, $0.01115695, LCP 292 ms, one alert, pending), so that a
    // formatting slip shows.
    const expected: Array<[string, string, number | string | null, string]> = [
      ['card-system', 'status', d.system_overview.status, ''],
      ['card-system', 'cpu_usage', d.system_overview.current.cpu_usage, '51 %'],
      ['card-system', 'memory_usage', d.system_overview.current.memory_usage, '3.6 %'],
      ['card-system', 'disk_usage', d.system_overview.current.disk_usage, '80 %'],
      ['card-api', 'requests_per_second', d.api_statistics.requests_per_second, '0.03'],
      ['card-api', 'error_rate_percent', d.api_statistics.error_rate_percent, '3.1 %'],
      ['card-api', 'latency_p95_ms', d.api_statistics.latency_ms.p95, '1.13 s'],
      ['card-ai', 'total_calls', today.total_calls, String(today.total_calls)],
      ['card-ai', 'cost_usd', today.cost.cost_usd, '$0.0112'],
      ['card-users', 'active_users', d.sessions.active_users.users, String(d.sessions.active_users.users)],
      ['card-users', 'sessions_started', d.sessions.sessions_started, String(d.sessions.sessions_started)],
      ['card-vitals', 'LCP', d.frontend_vitals.vitals.LCP.p75, '292 ms'],
      ['card-alerts', 'firing', 0, '0'],
      ['card-alerts', 'pending', 1, '1'],
    ];
    for (const [card, metric, value, text] of expected) {
      const element = figure(card, metric);
      expect(element.dataset.value, `${card} ${metric}`).toBe(String(value ?? ''));
      if (text) expect(element.textContent, `${card} ${metric}`).toContain(text);
    }
    // The numbers are real: the recording has traffic in it.
    expect(d.api_statistics.total_requests).toBeGreaterThan(0);
    expect(today.total_calls).toBeGreaterThan(0);
    expect(screen.getByRole('status').textContent).toMatch(/^Updated \d\d:\d\d:\d\d, every 30 s$/);
  });

  it('lists the slowest endpoints, pages, models and users, and the alerts', async () => {
    render(<PerformanceDashboard endpoint={ENDPOINT} />);
    await loaded();
    const rows = (id: string) => within(screen.getByTestId(id)).queryAllByRole('row').slice(1);
    const endpoints = answers.dashboard!.data.api_statistics.slowest_endpoints;
    expect(rows('table-endpoints').map((r) => r.querySelector('th')?.textContent)).toEqual(
      endpoints.slice(0, 10).map((g: any) => g.key),
    );
    // Costliest first: the recorded costs are $0.00612, $0.004632, $0.000295 and $0.00011.
    expect(rows('table-models').map((r) => r.querySelector('th')?.textContent)).toEqual([
      'gpt-4o',
      'claude-sonnet-4',
      'gemini-2.5-flash',
      'gpt-4o-mini',
    ]);
    expect(rows('table-models')[0]!.textContent).toContain('$0.0061');
    const measured = answers.pages!.data.pages.filter((p: any) => p.vitals.LCP.p75 !== null);
    expect(rows('table-pages')).toHaveLength(Math.min(10, measured.length));
    expect(rows('table-users').length).toBeGreaterThan(0);
    const alerts = answers.alerts!.data;
    expect(rows('table-alerts')).toHaveLength(Math.min(10, alerts.active.length + alerts.history.length));
  });

  it('shows each chart with its latest values in words', async () => {
    render(<PerformanceDashboard endpoint={ENDPOINT} />);
    await loaded();
    for (const title of ['CPU and memory', 'API latency', 'API error rate', 'AI cost by model', 'LCP p75', 'INP p75', 'CLS p75']) {
      expect(screen.getByRole('heading', { name: title, level: 3 }), title).toBeTruthy();
    }
    const latency = screen.getByRole('list', { name: 'API latency, latest values' });
    expect(within(latency).getAllByRole('listitem').map((li) => li.textContent?.split(':')[0])).toEqual(['p50', 'p95', 'p99']);
  });

  it('asks for the range chosen, as decimal hours', async () => {
    render(<PerformanceDashboard endpoint={ENDPOINT} hours={0.25} refreshSeconds={0} />);
    await loaded();
    expect(requests.map((r) => r.url)).toContain(`${ENDPOINT}/api/v1/monitoring/dashboard?hours=0.25`);
    expect(requests.map((r) => r.url)).toContain(`${ENDPOINT}/api/v1/monitoring/system/metrics?minutes=15`);
    requests = [];
    fireEvent.change(screen.getByLabelText('Time range'), { target: { value: '168' } });
    await vi.waitFor(() => expect(requests.length).toBe(7));
    await vi.waitFor(() => expect(screen.getByRole('button', { name: 'Refresh' })).toHaveProperty('disabled', false));
    const urls = requests.map((r) => r.url);
    expect(urls).toContain(`${ENDPOINT}/api/v1/monitoring/dashboard?hours=168`);
    expect(urls).toContain(`${ENDPOINT}/api/v1/monitoring/timeseries?hours=168`);
    expect(urls).toContain(`${ENDPOINT}/api/v1/monitoring/frontend/vitals?hours=168&group_by=page`);
    expect(urls).toContain(`${ENDPOINT}/api/v1/monitoring/system/metrics?minutes=10080`);
  });

  it('refreshes on its own and says when it last did', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    render(<PerformanceDashboard endpoint={ENDPOINT} refreshSeconds={10} />);
    await loaded();
    const first = requests.length;
    expect(first).toBe(7);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(10_000);
    });
    await vi.waitFor(() => expect(requests.length).toBe(14));
    expect(screen.getByRole('status').textContent).toContain('every 10 s');
  });

  it('does not refresh a hidden tab, and refreshes at once when it is shown again', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const visibility = (state: string) => Object.defineProperty(document, 'visibilityState', { value: state, configurable: true });
    try {
      render(<PerformanceDashboard endpoint={ENDPOINT} refreshSeconds={10} />);
      await loaded();
      expect(requests.length).toBe(7);
      visibility('hidden');
      document.dispatchEvent(new Event('visibilitychange'));
      await act(async () => {
        await vi.advanceTimersByTimeAsync(25_000);
      });
      expect(requests.length).toBe(7);
      visibility('visible');
      document.dispatchEvent(new Event('visibilitychange'));
      await vi.waitFor(() => expect(requests.length).toBe(14));
    } finally {
      delete (document as { visibilityState?: string }).visibilityState;
    }
  });

  it('says the collector is unreachable, and where it looked', async () => {
    answer = () => {
      throw new TypeError('Failed to fetch');
    };
    render(<PerformanceDashboard endpoint={ENDPOINT} />);
    const alert = await screen.findByTestId('problem');
    expect(alert.textContent).toContain(`Cannot reach the collector at ${ENDPOINT}`);
    expect(alert.textContent).toContain('read_origins');
    expect(screen.queryByTestId('card-system')).toBeNull();
  });

  it('asks for a read token, sends it as Bearer, and says when it is rejected', async () => {
    const good = 'dashboard-read-secret-1';
    answer = (key, _url, init) => {
      const auth = ((init.headers ?? {}) as Record<string, string>).authorization;
      if (auth === `Bearer ${good}`) return json(200, { success: true, data: answers[key]!.data });
      return json(401, { success: false, error: { code: 'unauthorized', message: 'a read token is needed' } });
    };
    render(<PerformanceDashboard endpoint={ENDPOINT} refreshSeconds={0} />);
    await screen.findByRole('heading', { name: 'Read token needed' });
    expect(screen.getByRole('alert').textContent).toContain('needs a read token');

    fireEvent.change(screen.getByLabelText('Read token'), { target: { value: 'not-the-secret' } });
    fireEvent.click(screen.getByRole('button', { name: 'Show the dashboard' }));
    await screen.findByText(/rejected the read token/);

    fireEvent.change(screen.getByLabelText('Read token'), { target: { value: good } });
    fireEvent.click(screen.getByRole('button', { name: 'Show the dashboard' }));
    await loaded();
    expect(requests.at(-1)?.authorization).toBe(`Bearer ${good}`);
    expect(sessionStorage.getItem('perfwatch.dashboard.token')).toBe(good);
  });

  it('asks a busy collector again when it said to (Retry-After), not before', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: false });
    let busy = true;
    answer = (key) =>
      busy
        ? json(429, { success: false, error: { code: 'rate_limited', message: 'too many requests' } }, { 'retry-after': '7' })
        : json(200, { success: true, data: answers[key]!.data });
    render(<PerformanceDashboard endpoint={ENDPOINT} refreshSeconds={0} />);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(screen.getByTestId('problem').textContent).toContain('busy (429). Trying again in 7 s.');
    const asked = requests.length;
    busy = false;
    await act(async () => {
      await vi.advanceTimersByTimeAsync(6_000);
    });
    expect(requests.length).toBe(asked);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(1_000);
    });
    expect(requests.length).toBe(asked + 7);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(screen.queryByTestId('problem')).toBeNull();
    expect(screen.getByTestId('card-system')).toBeTruthy();
  });

  it('keeps showing the rest when one part fails', async () => {
    answer = (key) =>
      key === 'timeseries'
        ? json(503, { success: false, error: { code: 'store_unavailable', message: 'the store is not answering' } }, { 'retry-after': '5' })
        : json(200, { success: true, data: answers[key]!.data });
    render(<PerformanceDashboard endpoint={ENDPOINT} />);
    await loaded();
    const problems = screen.getAllByRole('alert').map((a) => a.textContent);
    expect(problems.some((p) => p?.includes('busy (503). Trying again in 5 s.'))).toBe(true);
    expect(figure('card-api', 'requests_per_second').dataset.value).toBe(String(answers.dashboard!.data.api_statistics.requests_per_second));
  });
});
