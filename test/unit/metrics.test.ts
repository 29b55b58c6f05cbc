import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/ops/metrics.js';

/** The value of one sample line in the text format, or undefined when there is no such line. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics', () => {
  it('keeps the counts of two proxies in one process apart, and shows the process metrics in both', async () => {
    const first = new Metrics();
    const second = new Metrics();
    first.sessionOpened('imap');
    first.sessionOpened('imap');
    first.sessionClosed('imap');
    second.sessionOpened('smtp');
    second.logins.add({ protocol: 'smtp', result: 'denied', reason: 'wrong-password' });
    const [a, b] = [await first.render(), await second.render()];
    expect([sample(a, 'o365p_sessions_total{protocol="imap"}'), sample(a, 'o365p_sessions_active{protocol="imap"}')]).toEqual([2, 1]);
    expect(sample(a, 'o365p_sessions_total{protocol="smtp"}')).toBeUndefined();
    expect(sample(b, 'o365p_sessions_total{protocol="smtp"}')).toBe(1);
    expect(sample(b, 'o365p_logins_total{protocol="smtp",result="denied",reason="wrong-password"}')).toBe(1);
    expect(sample(b, 'o365p_sessions_total{protocol="imap"}')).toBeUndefined();
    for (const text of [a, b]) {
      expect(sample(text, 'o365p_process_resident_memory_bytes')).toBeGreaterThan(0);
      expect(text.match(/^# TYPE o365p_nodejs_eventloop_lag_max_seconds gauge$/gm)).toHaveLength(1);
    }
  });

  it('shows a blocked event loop in o365p_nodejs_eventloop_lag_max_seconds', async () => {
    const metrics = new Metrics();
    await metrics.render(); // starts a fresh measuring window
    await new Promise((resolve) => setTimeout(resolve, 50));
    const blockedUntil = Date.now() + 200;
    while (Date.now() < blockedUntil);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sample(await metrics.render(), 'o365p_nodejs_eventloop_lag_max_seconds')).toBeGreaterThanOrEqual(0.19);
    // Each scrape starts a new window: the block is not reported twice.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sample(await metrics.render(), 'o365p_nodejs_eventloop_lag_max_seconds')).toBeLessThan(0.19);
  });

  it('forgets cleared certificate expiries (a reload that drops a certificate)', async () => {
    const metrics = new Metrics();
    metrics.certificateExpiry.set({ certificate: 'tls.certFile' }, 1_900_000_000);
    metrics.certificateExpiry.clear();
    metrics.certificateExpiry.set({ certificate: 'apps.contoso.certificate.certFile' }, 1_800_000_000);
    const text = await metrics.render();
    expect(sample(text, 'o365p_certificate_expiry_timestamp_seconds{certificate="tls.certFile"}')).toBeUndefined();
    expect(sample(text, 'o365p_certificate_expiry_timestamp_seconds{certificate="apps.contoso.certificate.certFile"}')).toBe(1_800_000_000);
  });

  it('renders the documented help text, type and label set of each family', async () => {
    const metrics = new Metrics();
    metrics.bytes.add({ protocol: 'pop3', direction: 'down' }, 512);
    metrics.upstreamLoginSeconds.observe({ protocol: 'pop3' }, 0.3);
    const text = await metrics.render();
    expect(text).toContain('# HELP o365p_bytes_total Bytes relayed, by direction (up: client to Exchange, down: Exchange to client).\n# TYPE o365p_bytes_total counter\no365p_bytes_total{protocol="pop3",direction="down"} 512\n');
    expect(text).toContain('# TYPE o365p_upstream_login_seconds histogram\n');
    expect(sample(text, 'o365p_upstream_login_seconds_bucket{le="0.25",protocol="pop3"}')).toBe(0);
    expect(sample(text, 'o365p_upstream_login_seconds_bucket{le="0.5",protocol="pop3"}')).toBe(1);
    expect(sample(text, 'o365p_upstream_login_seconds_bucket{le="30",protocol="pop3"}')).toBe(1);
    expect(sample(text, 'o365p_upstream_login_seconds_count{protocol="pop3"}')).toBe(1);
  });
});
