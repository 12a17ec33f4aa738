/**
 * The tables: slowest endpoints, slowest pages by vital, most expensive models and users, and
 * recent alerts.
 */
import { useState, type ReactNode } from 'react';

import { VITALS, isProblem, type AiGroup, type Alert, type DashboardData, type PageVitals, type Problem, type VitalName } from './api.js';
import { dateTime, duration, number, percent, rating, ratingLabel, usd, vital } from './format.js';

/** How many rows a table shows. */
const ROWS = 10;

/** A table; the first column names the row, the others are numbers unless in `text`. */
function Table(props: {
  title: string;
  testId: string;
  head: string[];
  rows: ReactNode[][];
  empty: string;
  controls?: ReactNode;
  problem?: Problem | undefined;
  text?: number[];
}) {
  const align = (i: number) => (i > 0 && !props.text?.includes(i) ? 'pw-num' : undefined);
  return (
    <section className="pw-table" data-testid={props.testId} aria-labelledby={`${props.testId}-h`}>
      <div className="pw-table-head">
        <h3 id={`${props.testId}-h`}>{props.title}</h3>
        {props.controls}
      </div>
      {props.problem ? (
        <p className="pw-problem" role="alert">
          {props.problem.message}
        </p>
      ) : props.rows.length === 0 ? (
        <p className="pw-empty">{props.empty}</p>
      ) : (
        <div className="pw-scroll" tabIndex={0} role="region" aria-labelledby={`${props.testId}-h`}>
          <table>
            <thead>
              <tr>
                {props.head.map((h, i) => (
                  <th key={h} scope="col" className={align(i)}>
                    {h}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {props.rows.map((cells, r) => (
                <tr key={r}>
                  {cells.map((cell, i) =>
                    i === 0 ? (
                      <th key={i} scope="row">
                        {cell}
                      </th>
                    ) : (
                      <td key={i} className={align(i)}>
                        {cell}
                      </td>
                    ),
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Rated({ name, value }: { name: VitalName; value: number | null }) {
  if (value === null) return <>–</>;
  const r = rating(name, value);
  return (
    <>
      {vital(name, value)} <span className={`pw-rating pw-${r}`}>{ratingLabel(r)}</span>
    </>
  );
}

function SlowestPages({ pages, problem }: { pages: PageVitals[]; problem?: Problem | undefined }) {
  const [by, setBy] = useState<VitalName>('LCP');
  const sorted = pages
    .filter((p) => p.vitals[by]?.p75 !== null && p.vitals[by]?.p75 !== undefined)
    .sort((a, b) => (b.vitals[by].p75 ?? 0) - (a.vitals[by].p75 ?? 0))
    .slice(0, ROWS);
  const controls = (
    <label className="pw-inline">
      Sort by{' '}
      <select value={by} onChange={(e) => setBy(e.target.value as VitalName)}>
        {VITALS.map((v) => (
          <option key={v} value={v}>
            {v} p75
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <Table
      title="Slowest pages"
      testId="table-pages"
      controls={controls}
      problem={problem}
      head={['Page', 'Views', 'LCP p75', 'INP p75', 'CLS p75']}
      empty={`No page measured ${by} in this range.`}
      rows={sorted.map((p) => [
        p.page,
        number(p.page_views, 0),
        <Rated key="lcp" name="LCP" value={p.vitals.LCP.p75} />,
        <Rated key="inp" name="INP" value={p.vitals.INP.p75} />,
        <Rated key="cls" name="CLS" value={p.vitals.CLS.p75} />,
      ])}
    />
  );
}

function byCost(groups: AiGroup[]): AiGroup[] {
  return [...groups].sort((a, b) => b.cost.cost_usd - a.cost.cost_usd).slice(0, ROWS);
}

function costRows(groups: AiGroup[]): ReactNode[][] {
  return byCost(groups).map((g) => [
    g.key,
    number(g.calls, 0),
    number(g.tokens.input + g.tokens.output, 0),
    usd(g.cost.cost_usd),
    percent(g.success_rate_percent),
  ]);
}

function alertRows(alerts: Alert[]): ReactNode[][] {
  return alerts.slice(0, ROWS).map((a) => [
    a.name,
    a.labels.severity ?? '–',
    a.state + (a.silenced_by.length ? ' (silenced)' : a.inhibited ? ' (inhibited)' : ''),
    a.annotations.summary ?? '',
    dateTime(a.starts_at_ms ?? a.active_at_ms),
  ]);
}

/** The tables of one refresh. */
export function Tables({ data }: { data: DashboardData }): ReactNode {
  const api = data.dashboard.api_statistics;
  const { pages, aiByModel, alerts } = data;
  const recent = isProblem(alerts)
    ? []
    : [...alerts.active, ...alerts.history].sort((a, b) => (b.starts_at_ms ?? b.active_at_ms) - (a.starts_at_ms ?? a.active_at_ms));
  return (
    <div className="pw-tables">
      <Table
        title="Slowest endpoints"
        testId="table-endpoints"
        head={['Endpoint', 'Calls', 'p95', 'p99', 'Errors (5xx)']}
        empty="No API calls in this range."
        rows={api.slowest_endpoints.slice(0, ROWS).map((g) => [
          g.key,
          number(g.count, 0),
          duration(g.latency_ms.p95),
          duration(g.latency_ms.p99),
          percent(g.error_rate_percent),
        ])}
      />
      <SlowestPages pages={isProblem(pages) ? [] : (pages.pages ?? [])} problem={isProblem(pages) ? pages : undefined} />
      <Table
        title="Most expensive models"
        testId="table-models"
        head={['Model', 'Calls', 'Tokens', 'Cost', 'Success']}
        empty="No AI calls in this range."
        problem={isProblem(aiByModel) ? aiByModel : undefined}
        rows={isProblem(aiByModel) ? [] : costRows(aiByModel.groups ?? [])}
      />
      <Table
        title="Most expensive users"
        testId="table-users"
        head={['User', 'Calls', 'Tokens', 'Cost', 'Success']}
        empty="No AI calls in this range."
        rows={costRows(data.dashboard.ai_statistics.top_users_by_cost)}
      />
      <Table
        title="Recent alerts"
        testId="table-alerts"
        head={['Alert', 'Severity', 'State', 'Summary', 'Since']}
        text={[1, 2, 3]}
        empty="No alerts in the last day."
        problem={isProblem(alerts) ? alerts : undefined}
        rows={alertRows(recent)}
      />
    </div>
  );
}
