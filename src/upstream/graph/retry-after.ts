/**
 * How long Graph asked to wait, from a Retry-After header: seconds (what Graph sends) or an
 * HTTP date. Undefined when absent or unreadable.
 */
export function retryAfterMs(header: string | undefined, now = Date.now()): number | undefined {
  if (header === undefined) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Without a Retry-After: 1 s, 2 s, 4 s … up to 30 s, as Graph's throttling guidance suggests (exponential backoff). */
export function backoffMs(attempt: number): number {
  return Math.min(1000 * 2 ** attempt, 30_000);
}
