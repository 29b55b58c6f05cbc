import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';

/**
 * The proxy's counters, gauges and histograms, kept and rendered by prom-client. Each Metrics
 * has its own registry (tests run several proxies in one process); the process metrics are
 * shared, see processRegistry().
 */
type Labels = Record<string, string>;

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The value of the sample whose labels are exactly `labels` (0 when there is none). */
async function sampleValue(metric: Counter | Gauge, labels: Labels): Promise<number> {
  const wanted = Object.entries(labels);
  const { values } = await metric.get();
  const sample = values.find((v) => Object.keys(v.labels).length === wanted.length && wanted.every(([k, value]) => v.labels[k] === value));
  return sample?.value ?? 0;
}

class CounterFamily {
  readonly #counter: Counter;
  constructor(registry: Registry, name: string, help: string, labelNames: string[]) {
    this.#counter = new Counter({ name, help, labelNames, registers: [registry] });
  }

  add(labels: Labels, delta = 1): void {
    this.#counter.inc(labels, delta);
  }

  value(labels: Labels): Promise<number> {
    return sampleValue(this.#counter, labels);
  }
}

class GaugeFamily {
  readonly #gauge: Gauge;
  /** `aggregator`: how a primary combines its workers' values (summed unless said). */
  constructor(registry: Registry, name: string, help: string, labelNames: string[], aggregator?: 'max' | 'min') {
    this.#gauge = new Gauge({ name, help, labelNames, registers: [registry], ...(aggregator ? { aggregator } : {}) });
  }

  add(labels: Labels, delta = 1): void {
    this.#gauge.inc(labels, delta);
  }

  set(labels: Labels, value: number): void {
    this.#gauge.set(labels, value);
  }

  /** Forgets every sample, for a gauge whose label values come and go (reloaded certificates). */
  clear(): void {
    this.#gauge.reset();
  }

  value(labels: Labels): Promise<number> {
    return sampleValue(this.#gauge, labels);
  }
}

class HistogramFamily {
  readonly #histogram: Histogram;
  constructor(registry: Registry, name: string, help: string, labelNames: string[]) {
    this.#histogram = new Histogram({ name, help, labelNames, buckets: BUCKETS, registers: [registry] });
  }

  observe(labels: Labels, seconds: number): void {
    this.#histogram.observe(labels, seconds);
  }
}

let processMetrics: Registry | undefined;

/**
 * CPU, memory, file descriptors, GC and event-loop lag describe the process, not one proxy, so
 * they are collected once per process and shown by every Metrics. Collecting them per instance
 * would leak: prom-client starts an event-loop delay monitor and a GC observer for each call
 * and never stops them.
 */
function processRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics, prefix: 'o365p_' });
  }
  return processMetrics;
}

export class Metrics {
  readonly #registry = new Registry();
  // Taken at construction, so that event-loop lag is measured from the start, not the first scrape.
  readonly #process = processRegistry();
  readonly sessionsActive = new GaugeFamily(this.#registry, 'o365p_sessions_active', 'Client sessions open now.', ['protocol']);
  readonly sessionsTotal = new CounterFamily(this.#registry, 'o365p_sessions_total', 'Client sessions accepted.', ['protocol']);
  readonly logins = new CounterFamily(this.#registry, 'o365p_logins_total', 'Logins by result (ok, denied, temporary, permanent) and reason.', ['protocol', 'result', 'reason']);
  readonly tokenRequests = new CounterFamily(this.#registry, 'o365p_token_requests_total', 'Token requests sent to Entra ID.', ['app']);
  readonly tokenFailures = new CounterFamily(this.#registry, 'o365p_token_failures_total', 'Token requests that failed.', ['app', 'kind']);
  readonly tokenSeconds = new HistogramFamily(this.#registry, 'o365p_token_request_seconds', 'Duration of token requests.', ['app']);
  readonly upstreamConnectSeconds = new HistogramFamily(this.#registry, 'o365p_upstream_connect_seconds', 'TCP connect time to the upstream mail host.', ['host']);
  readonly upstreamLoginSeconds = new HistogramFamily(this.#registry, 'o365p_upstream_login_seconds', 'Upstream session setup (TLS and XOAUTH2 login).', ['protocol']);
  readonly bytes = new CounterFamily(this.#registry, 'o365p_bytes_total', 'Bytes relayed, by direction (up: client to Exchange, down: Exchange to client).', ['protocol', 'direction']);
  readonly certificateExpiry = new GaugeFamily(this.#registry, 'o365p_certificate_expiry_timestamp_seconds', 'When a configured certificate expires (Unix time), by config key.', ['certificate'], 'max');
  readonly upstreamSessions = new GaugeFamily(this.#registry, 'o365p_upstream_sessions', 'Upstream sessions open now, each holding one of its mailbox\'s places (upstream.maxSessionsPerMailbox).', ['protocol']);
  readonly upstreamWaits = new CounterFamily(this.#registry, 'o365p_upstream_session_waits_total', 'Logins that waited for a free upstream session or for the end of a throttling backoff.', ['protocol']);
  readonly upstreamRefusals = new CounterFamily(this.#registry, 'o365p_upstream_session_refusals_total', 'Logins answered "try later" without reaching Exchange, by reason (busy: no free session in time; throttled: backoff longer than the wait).', ['protocol', 'reason']);
  readonly upstreamThrottled = new CounterFamily(this.#registry, 'o365p_upstream_throttled_total', 'Throttling answers from Exchange.', ['protocol']);
  readonly connectionsRefused = new CounterFamily(this.#registry, 'o365p_connections_refused_total', 'Client connections turned away, by protocol and reason (max-connections, max-connections-per-address, open-files, proxy-header).', ['protocol', 'reason']);
  // With workers, each keeps its own sign-in: the instance's is as good as its worst worker's.
  readonly delegatedSignInValid = new GaugeFamily(this.#registry, 'o365p_delegated_signin_valid', 'Whether a delegated account\'s stored sign-in works (1) or needs "o365-mail-proxy login <account>" (0).', ['account'], 'min');
  readonly graphRequests = new CounterFamily(this.#registry, 'o365p_graph_requests_total', 'Microsoft Graph requests by operation and HTTP status (network: no answer).', ['operation', 'status']);
  readonly graphRequestSeconds = new HistogramFamily(this.#registry, 'o365p_graph_request_seconds', 'Duration of Microsoft Graph requests, by operation.', ['operation']);
  readonly messagesSent = new CounterFamily(this.#registry, 'o365p_messages_sent_total', 'Messages the upstream accepted from SMTP clients, by path (smtp: SMTP AUTH relay, graph: Microsoft Graph).', ['path']);
  readonly outOfDescriptors = new CounterFamily(this.#registry, 'o365p_open_files_exhausted_total', 'Times the process ran out of file descriptors (EMFILE/ENFILE), by where: accept, upstream.', ['where']);

  /** The Content-Type of render()'s output (Prometheus text format 0.0.4). */
  readonly contentType: string = this.#registry.contentType;

  sessionOpened(protocol: string): void {
    this.sessionsActive.add({ protocol });
    this.sessionsTotal.add({ protocol });
  }

  sessionClosed(protocol: string): void {
    this.sessionsActive.add({ protocol }, -1);
  }

  /** This proxy's metrics and the process metrics as data, for a primary to sum over its workers. */
  async snapshot(): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
    return [...(await this.#registry.getMetricsAsJSON()), ...(await this.#process.getMetricsAsJSON())];
  }

  /** This proxy's metrics followed by the process metrics, in the Prometheus text format. */
  async render(): Promise<string> {
    return Registry.merge([this.#registry, this.#process]).metrics();
  }
}
