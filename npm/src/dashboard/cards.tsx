/**
 * The overview cards: is the app healthy, and where does it hurt. Each figure carries its raw
 * value in `data-value` (what the API answered), the text shows it formatted.
 */
import type { ReactNode } from 'react';

import { CORE_VITALS, isProblem, type DashboardData, type VitalName } from './api.js';
import { duration, number, percent, rating, ratingLabel, usd, vital } from './format.js';

/** One figure of a card: a label and its value. */
function Figure(props: { label: string; value: number | null | undefined; text: string; name: string; extra?: ReactNode }) {
  return (
    <div className="pw-figure">
      <dt>{props.label}</dt>
      <dd data-metric={props.name} data-value={props.value ?? ''}>
        {props.text}
        {props.extra}
      </dd>
    </div>
  );
}

function Card(props: { title: string; testId: string; children: ReactNode; tone?: string | undefined; footer?: ReactNode }) {
  return (
    <section className={`pw-card${props.tone ? ` pw-tone-${props.tone}` : ''}`} data-testid={props.testId} aria-labelledby={`${props.testId}-h`}>
      <h3 id={`${props.testId}-h`}>{props.title}</h3>
      <dl>{props.children}</dl>
      {props.footer}
    </section>
  );
}

const STATUS_WORD = { healthy: 'Healthy', warning: 'Warning', critical: 'Critical' } as const;

/** The cards of one refresh. */
export function Cards({ data }: { data: DashboardData }): ReactNode {
  const { system_overview: system, api_statistics: api, sessions, active_alerts: alerts, frontend_vitals: fv } = data.dashboard;
  const today = data.aiToday;
  const firing = alerts.filter((a) => a.state === 'firing').length;
  const pending = alerts.length - firing;
  const status = system.status;
  return (
    <div className="pw-cards">
      <Card
        title="System"
        testId="card-system"
        tone={status}
        footer={system.reasons && system.reasons.length > 0 && <p className="pw-note">{system.reasons.join('; ')}</p>}
      >
        <div className="pw-figure">
          <dt>Status</dt>
          <dd data-metric="status" data-value={status ?? ''}>
            {status ? STATUS_WORD[status] : 'No sample yet'}
          </dd>
        </div>
        <Figure label="CPU" name="cpu_usage" value={system.current?.cpu_usage} text={percent(system.current?.cpu_usage)} />
        <Figure label="Memory" name="memory_usage" value={system.current?.memory_usage} text={percent(system.current?.memory_usage)} />
        <Figure label="Fullest disk" name="disk_usage" value={system.current?.disk_usage} text={percent(system.current?.disk_usage)} />
      </Card>
      <Card title="API requests" testId="card-api">
        <Figure label="Requests per second" name="requests_per_second" value={api.requests_per_second} text={number(api.requests_per_second, 2)} />
        <Figure label="Error rate (5xx)" name="error_rate_percent" value={api.error_rate_percent} text={percent(api.error_rate_percent)} />
        <Figure label="p95 latency" name="latency_p95_ms" value={api.latency_ms.p95} text={duration(api.latency_ms.p95)} />
      </Card>
      <Card
        title="AI today"
        testId="card-ai"
        footer={
          isProblem(today) && (
            <p className="pw-problem" role="alert">
              {today.message}
            </p>
          )
        }
      >
        {!isProblem(today) && (
          <>
            <Figure label="Calls" name="total_calls" value={today.total_calls} text={number(today.total_calls, 0)} />
            <Figure label="Tokens" name="tokens" value={today.tokens.input + today.tokens.output} text={number(today.tokens.input + today.tokens.output, 0)} />
            <Figure label="Cost" name="cost_usd" value={today.cost.cost_usd} text={usd(today.cost.cost_usd)} />
          </>
        )}
      </Card>
      <Card title="Users" testId="card-users">
        <Figure
          label={`Active users (last ${sessions.active_users.minutes} min)`}
          name="active_users"
          value={sessions.active_users.users}
          text={number(sessions.active_users.users, 0)}
        />
        <Figure label="Sessions started" name="sessions_started" value={sessions.sessions_started} text={number(sessions.sessions_started, 0)} />
        <Figure label="Page views" name="page_views" value={fv.page_views} text={number(fv.page_views, 0)} />
      </Card>
      <Card title="Web vitals (p75)" testId="card-vitals">
        {CORE_VITALS.map((name) => {
          const p75 = fv.vitals[name]?.p75 ?? null;
          const r = p75 === null ? undefined : rating(name, p75);
          return (
            <Figure
              key={name}
              label={name}
              name={name}
              value={p75}
              text={vital(name, p75)}
              extra={r && <span className={`pw-rating pw-${r}`}> {ratingLabel(r)}</span>}
            />
          );
        })}
      </Card>
      <Card
        title="Alerts"
        testId="card-alerts"
        tone={firing > 0 ? 'critical' : pending > 0 ? 'warning' : undefined}
        footer={alerts[0] && <p className="pw-note">{alerts[0].annotations.summary ?? alerts[0].name}</p>}
      >
        <Figure label="Firing" name="firing" value={firing} text={number(firing, 0)} />
        <Figure label="Pending" name="pending" value={pending} text={number(pending, 0)} />
      </Card>
    </div>
  );
}
