// An app instrumented with OpenTelemetry reports to the collector by pointing its exporter at
// it: the OpenTelemetry JS SDK's own OTLP exporters (protobuf and JSON) send gen_ai client
// spans and HTTP server spans to a real collector process, and the collector's statistics
// then show them as AI and API calls. Malformed exports get OTLP's answers.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { startCollector, stopCleanly } from './harness.mjs';

let collector;

before(async () => {
  collector = await startCollector();
});

after(async () => {
  await stopCleanly(collector);
});

/** Sends, through `exporter`, what an instrumented AI backend of `service` emits. */
async function emit(exporter, service, { model, route }) {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('perfwatch-e2e');
  const now = Date.now();
  for (let i = 0; i < 3; i++) {
    const server = tracer.startSpan(`POST ${route}`, {
      kind: SpanKind.SERVER,
      startTime: now - 5_000 + i,
      attributes: {
        'http.request.method': 'POST',
        'http.route': route,
        'url.path': `${route.replace(':id', String(i))}`,
        'http.response.status_code': i === 2 ? 503 : 200,
        'user.id': `user-${i}`,
      },
    });
    const chat = tracer.startSpan(`chat ${model}`, {
      kind: SpanKind.CLIENT,
      startTime: now - 4_900 + i,
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': model,
        'gen_ai.usage.input_tokens': 1_000,
        'gen_ai.usage.output_tokens': 200,
        'gen_ai.usage.cache_read.input_tokens': 400,
        'user.id': `user-${i}`,
        ...(i === 2 ? { 'error.type': 'rate_limit_exceeded' } : {}),
      },
    });
    if (i === 2) chat.setStatus({ code: SpanStatusCode.ERROR, message: 'rate limited' });
    chat.end(now - 4_900 + i + 1_500);
    // Internal work is neither an AI nor an API call.
    tracer.startSpan('render template', { startTime: now - 3_000 }).end(now - 2_990);
    server.end(now - 5_000 + i + 2_000);
  }
  await provider.forceFlush();
  await provider.shutdown();
}

async function stats(path) {
  const { status, body } = await collector.api(path);
  assert.equal(status, 200, JSON.stringify(body));
  return body.data;
}

test('spans from the OpenTelemetry SDK exporters become AI and API calls', async () => {
  const endpoint = `${collector.url}/v1/traces`;
  await emit(new ProtobufExporter({ url: endpoint }), 'proto-app', {
    model: 'gpt-4o',
    route: '/proto/chat/:id',
  });
  await emit(new JsonExporter({ url: endpoint }), 'json-app', {
    model: 'gpt-4.1',
    route: '/json/chat/:id',
  });

  const ai = await stats('/api/v1/monitoring/ai/stats?hours=1&group_by=model');
  assert.equal(ai.total_calls, 6, JSON.stringify(ai));
  assert.equal(ai.tokens.input, 6_000);
  assert.equal(ai.tokens.output, 1_200);
  assert.equal(ai.tokens.cached_input, 2_400);
  assert.ok(Math.abs(ai.success_rate_percent - 400 / 6) < 1e-9, JSON.stringify(ai));
  assert.equal(ai.cost.computed_calls, 6, 'both models are priced from the table');
  assert.ok(ai.cost.cost_usd > 0);
  const models = Object.fromEntries(ai.groups.map((g) => [g.key, g]));
  assert.deepEqual(Object.keys(models).sort(), ['gpt-4.1', 'gpt-4o']);
  for (const group of Object.values(models)) {
    assert.equal(group.calls, 3, JSON.stringify(group));
  }
  // Latency is the span's duration: 1.5 s for every call (within the sketch's 1 %).
  assert.ok(Math.abs(ai.latency_ms.p50 - 1_500) <= 15, JSON.stringify(ai.latency_ms));

  const api = await stats('/api/v1/monitoring/api/stats?hours=1&group_by=endpoint');
  assert.equal(api.total_requests, 6, JSON.stringify(api));
  assert.equal(api.status_distribution['503'], 2);
  const endpoints = api.groups.map((g) => g.key).sort();
  assert.deepEqual(endpoints, ['POST /json/chat/:id', 'POST /proto/chat/:id']);
  assert.ok(Math.abs(api.latency_ms.p50 - 2_000) <= 20, JSON.stringify(api.latency_ms));

  const byUser = await stats('/api/v1/monitoring/ai/stats?hours=1&group_by=user');
  assert.deepEqual(byUser.groups.map((g) => g.key).sort(), ['user-0', 'user-1', 'user-2']);
});

test('an export sent again is stored once', async () => {
  const before = (await stats('/api/v1/monitoring/ai/stats?hours=1')).total_calls;
  const span = {
    traceId: '5b8efff798038103d269b633813fc60c',
    spanId: 'aaaaaaaaaaaaaaaa',
    name: 'chat gpt-4o',
    kind: 3,
    startTimeUnixNano: String(BigInt(Date.now() - 1_000) * 1_000_000n),
    endTimeUnixNano: String(BigInt(Date.now()) * 1_000_000n),
    attributes: [{ key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o' } }],
  };
  const body = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] });
  for (let i = 0; i < 2; i++) {
    const res = await fetch(`${collector.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {});
  }
  const after = (await stats('/api/v1/monitoring/ai/stats?hours=1')).total_calls;
  assert.equal(after, before + 1);
});

test('refused spans are counted in partialSuccess and the good ones kept', async () => {
  const nanos = (ms) => String(BigInt(Math.round(ms)) * 1_000_000n);
  const now = Date.now();
  const span = (spanId, attributes, start = now - 1_000) => ({
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId,
    name: 'chat',
    kind: 3,
    startTimeUnixNano: nanos(start),
    endTimeUnixNano: nanos(start + 100),
    attributes,
  });
  const model = (name) => ({ key: 'gen_ai.request.model', value: { stringValue: name } });
  const spans = [
    span('0000000000000001', [model('mistral-large-latest')]),
    span('0000000000000002', [model('gpt-4o'), { key: 'gen_ai.usage.input_tokens', value: { intValue: '-5' } }]),
    span('0000000000000003', [model('x'.repeat(10_000))]),
    span('0000000000000004', [model('gpt-4o')], Date.UTC(2500, 0, 1)),
    span('0000000000000005', [{ key: 'gen_ai.operation.name', value: { stringValue: 'chat' } }]),
    {
      ...span('0000000000000006', [
        { key: 'http.request.method', value: { stringValue: 'GET' } },
        { key: 'http.route', value: { stringValue: '/odd' } },
        { key: 'http.response.status_code', value: { intValue: 999 } },
      ]),
      kind: 2,
    },
  ];
  const res = await fetch(`${collector.url}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] }),
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^application\/json/);
  const answer = await res.json();
  assert.equal(answer.partialSuccess.rejectedSpans, '5', JSON.stringify(answer));
  const message = answer.partialSuccess.errorMessage;
  for (const id of ['0000000000000002', '0000000000000003', '0000000000000004', '0000000000000005', '0000000000000006']) {
    assert.ok(message.includes(id), `${id} named in: ${message}`);
  }
  assert.ok(!message.includes('0000000000000001'), message);
  assert.match(message, /http\.response\.status_code/);
  const models = (await stats('/api/v1/monitoring/ai/stats?hours=1&group_by=model')).groups.map((g) => g.key);
  assert.ok(models.includes('mistral-large-latest'), JSON.stringify(models));
});

test('a body that is not OTLP gets 400 with a google.rpc.Status, and the collector stays up', async () => {
  for (const [type, body] of [
    ['application/json', '{"resourceSpans": "nope"}'],
    ['application/x-protobuf', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])],
  ]) {
    const res = await fetch(`${collector.url}/v1/traces`, { method: 'POST', headers: { 'content-type': type }, body });
    assert.equal(res.status, 400, type);
    assert.equal(res.headers.get('content-type'), type);
    if (type === 'application/json') {
      const status = await res.json();
      assert.equal(status.code, 3);
      assert.match(status.message, /not an OTLP ExportTraceServiceRequest in JSON/);
    }
  }
  const res = await fetch(`${collector.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
  assert.equal(res.status, 415);
  assert.match((await res.json()).message, /application\/x-protobuf/);
  assert.equal((await collector.api('/api/v1/monitoring/health')).status, 200);
});
