/**
 * The readable log format (log.format "pretty", a terminal by default): one line per event,
 * "[time] LEVEL: event: message  key=value …", so a session reads as a few lines and the demo's
 * banner stays on screen. Every field of the JSON line is there; only pid and hostname are
 * left out (pino-pretty's `ignore`). Pure: pino-pretty calls it for each line.
 */

/** Shown before the fields, or not at all. */
const OWN_PLACE = new Set(['time', 'level', 'pid', 'hostname', 'event']);

interface Colors {
  cyan(text: string): string;
  gray(text: string): string;
}

const plain: Colors = { cyan: (t) => t, gray: (t) => t };

export function prettyMessage(log: Record<string, unknown>, messageKey: string, _levelLabel?: string, extras?: { colors?: Colors }): string {
  const colors = extras?.colors ?? plain;
  const event = typeof log.event === 'string' ? `${colors.cyan(log.event)}: ` : '';
  const message = withoutControls(String(log[messageKey] ?? ''));
  const fields = Object.entries(log)
    .filter(([key, value]) => !OWN_PLACE.has(key) && key !== messageKey && value !== undefined)
    .map(([key, value]) => `${key}=${fieldValue(value)}`)
    .join(' ');
  return `${event}${message}${fields ? `  ${colors.gray(fields)}` : ''}`;
}

/** Bare when it cannot be misread (addresses, codes, numbers), JSON otherwise: one line whatever the value holds. */
function fieldValue(value: unknown): string {
  if (typeof value === 'string') return /^[\w.:@/+\-[\]]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

/** A message may quote what a client or server sent: its control characters are shown, not obeyed. */
function withoutControls(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
}
