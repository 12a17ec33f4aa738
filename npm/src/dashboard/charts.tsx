/**
 * The time-series charts: the host, the API, AI cost by model, and the p75 of LCP, INP and CLS
 * against web-vitals' bands.
 */
import type { ReactNode } from 'react';

import { CORE_VITALS, isProblem, type DashboardData, type Problem, type VitalName } from './api.js';
import { Chart } from './chart.js';
import { duration, THRESHOLDS } from './format.js';

function Unavailable({ title, problem }: { title: string; problem: Problem }) {
  return (
    <figure className="pw-chart">
      <h3>{title}</h3>
      <p className="pw-problem" role="alert">
        {problem.message}
      </p>
    </figure>
  );
}

/** The charts of one refresh. */
export function Charts({ data }: { data: DashboardData }): ReactNode {
  const { system, timeseries: series } = data;
  const window_ms = [data.dashboard.from_ms, data.dashboard.to_ms] as const;
  const step = isProblem(series) ? undefined : series.step_ms;
  const per = step ? `per ${step >= 3.6e6 ? `${step / 3.6e6} h` : `${step / 6e4} min`}` : '';
  return (
    <div className="pw-charts">
      {isProblem(system) ? (
        <Unavailable title="CPU and memory" problem={system} />
      ) : (
        <Chart
          title="CPU and memory"
          unit="percent"
          note={`Host ${system.host}, ${system.history.samples} ${system.history.samples === 1 ? 'sample' : 'samples'}`}
          window_ms={window_ms}
          times_ms={system.history.points.map((p) => p.at_ms)}
          lines={[
            { label: 'CPU', values: system.history.points.map((p) => p.cpu_percent) },
            { label: 'Memory', values: system.history.points.map((p) => p.memory_percent) },
          ]}
        />
      )}
      {isProblem(series) ? (
        <>
          <Unavailable title="API latency" problem={series} />
          <Unavailable title="AI cost by model" problem={series} />
        </>
      ) : (
        <>
          <Chart
            title="API latency"
            unit="ms"
            note={`Backend calls, percentiles ${per}`}
            times_ms={series.times_ms}
            window_ms={window_ms}
            lines={[
              { label: 'p50', values: series.api.latency_p50_ms },
              { label: 'p95', values: series.api.latency_p95_ms },
              { label: 'p99', values: series.api.latency_p99_ms },
            ]}
          />
          <Chart
            title="API error rate"
            unit="percent"
            note={`Share of calls answered 5xx, ${per}`}
            times_ms={series.times_ms}
            window_ms={window_ms}
            lines={[{ label: '5xx', values: series.api.error_rate_percent }]}
          />
          <Chart
            title="AI cost by model"
            unit="usd"
            note={`US dollars ${per}`}
            times_ms={series.times_ms}
            window_ms={window_ms}
            lines={series.ai.cost_usd_by_model.map((m) => ({ label: m.model, values: m.values }))}
          />
          {CORE_VITALS.map((name) => (
            <Chart
              key={name}
              title={`${name} p75`}
              unit={name === 'CLS' ? 'score' : 'ms'}
              bands={THRESHOLDS[name]}
              note={
                name === 'CLS'
                  ? `Good up to ${THRESHOLDS.CLS[0]}, poor above ${THRESHOLDS.CLS[1]}`
                  : `Good up to ${duration(THRESHOLDS[name][0])}, poor above ${duration(THRESHOLDS[name][1])}`
              }
              times_ms={series.times_ms}
              window_ms={window_ms}
              lines={[{ label: `${name} p75`, values: series.vitals[name]?.p75 ?? [] }]}
            />
          ))}
        </>
      )}
    </div>
  );
}
