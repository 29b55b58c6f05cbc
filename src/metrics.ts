/**
 * The proxy's counters, in the Prometheus text format (version 0.0.4). Small and dependency
 * free: a few counters, gauges and histograms with fixed label sets.
 */
type Labels = Record<string, string>;

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

function key(labels: Labels): string {
  return Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`).join(',');
}

class Family {
  readonly values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string, readonly type: 'counter' | 'gauge') {}

  add(labels: Labels, delta = 1): void {
    const k = key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + delta);
  }

  set(labels: Labels, value: number): void {
    this.values.set(key(labels), value);
  }

  render(): string[] {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`, ...[...this.values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${v}`)];
  }
}

class Histogram {
  readonly series = new Map<string, { counts: number[]; sum: number; count: number; labels: Labels }>();
  constructor(readonly name: string, readonly help: string) {}

  observe(labels: Labels, seconds: number): void {
    const k = key(labels);
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = { counts: BUCKETS.map(() => 0), sum: 0, count: 0, labels }));
    BUCKETS.forEach((bound, i) => {
      if (seconds <= bound) s!.counts[i]!++;
    });
    s.sum += seconds;
    s.count++;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      BUCKETS.forEach((bound, i) => lines.push(`${this.name}_bucket{${key({ ...s.labels, le: String(bound) })}} ${s.counts[i]}`));
      lines.push(`${this.name}_bucket{${key({ ...s.labels, le: '+Inf' })}} ${s.count}`);
      lines.push(`${this.name}_sum${Object.keys(s.labels).length ? `{${key(s.labels)}}` : ''} ${s.sum}`);
      lines.push(`${this.name}_count${Object.keys(s.labels).length ? `{${key(s.labels)}}` : ''} ${s.count}`);
    }
    return lines;
  }
}

export class Metrics {
  readonly sessionsActive = new Family('o365p_sessions_active', 'Client sessions open now.', 'gauge');
  readonly sessionsTotal = new Family('o365p_sessions_total', 'Client sessions accepted.', 'counter');
  readonly logins = new Family('o365p_logins_total', 'Logins by result (ok, denied, temporary, permanent) and reason.', 'counter');
  readonly tokenRequests = new Family('o365p_token_requests_total', 'Token requests sent to Entra ID.', 'counter');
  readonly tokenFailures = new Family('o365p_token_failures_total', 'Token requests that failed.', 'counter');
  readonly tokenSeconds = new Histogram('o365p_token_request_seconds', 'Duration of token requests.');
  readonly upstreamConnectSeconds = new Histogram('o365p_upstream_connect_seconds', 'TCP connect time to the upstream mail host.');
  readonly upstreamLoginSeconds = new Histogram('o365p_upstream_login_seconds', 'Upstream session setup (TLS and XOAUTH2 login).');
  readonly bytes = new Family('o365p_bytes_total', 'Bytes relayed, by direction (up: client to Exchange, down: Exchange to client).', 'counter');
  readonly certificateExpiry = new Family('o365p_certificate_expiry_timestamp_seconds', 'When a configured certificate expires (Unix time), by config key.', 'gauge');
  readonly upstreamSessions = new Family('o365p_upstream_sessions', 'Upstream sessions open now, each holding one of its mailbox\'s places (upstream.maxSessionsPerMailbox).', 'gauge');
  readonly upstreamWaits = new Family('o365p_upstream_session_waits_total', 'Logins that waited for a free upstream session or for the end of a throttling backoff.', 'counter');
  readonly upstreamRefusals = new Family('o365p_upstream_session_refusals_total', 'Logins answered "try later" without reaching Exchange, by reason (busy: no free session in time; throttled: backoff longer than the wait).', 'counter');
  readonly upstreamThrottled = new Family('o365p_upstream_throttled_total', 'Throttling answers from Exchange.', 'counter');
  readonly connectionsRefused = new Family('o365p_connections_refused_total', 'Client connections turned away, by protocol and reason (max-connections, max-connections-per-address, open-files, proxy-header).', 'counter');
  readonly outOfDescriptors = new Family('o365p_open_files_exhausted_total', 'Times the process ran out of file descriptors (EMFILE/ENFILE), by where: accept, upstream.', 'counter');

  sessionOpened(protocol: string): void {
    this.sessionsActive.add({ protocol });
    this.sessionsTotal.add({ protocol });
  }

  sessionClosed(protocol: string): void {
    this.sessionsActive.add({ protocol }, -1);
  }

  render(): string {
    const families = [this.sessionsActive, this.sessionsTotal, this.logins, this.tokenRequests, this.tokenFailures, this.tokenSeconds, this.upstreamConnectSeconds, this.upstreamLoginSeconds, this.bytes, this.certificateExpiry, this.upstreamSessions, this.upstreamWaits, this.upstreamRefusals, this.upstreamThrottled, this.connectionsRefused, this.outOfDescriptors];
    return `${families.flatMap((f) => f.render()).join('\n')}\n`;
  }
}
