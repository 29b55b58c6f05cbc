import { createRequire } from 'node:module';
import pino, { type DestinationStream, type Logger } from 'pino';
import type pretty from 'pino-pretty';
import type { LogLevel } from '../config/types.js';
import { prettyMessage } from './pretty-line.js';

export type { Logger } from 'pino';

export interface LogOptions {
  level: LogLevel;
  /** auto: readable on a terminal, JSON otherwise. */
  format: 'auto' | 'json' | 'pretty';
  /** Where lines go; stdout by default. Tests pass a stream to read them. */
  destination?: DestinationStream;
  /** Fields on every line besides the pid: a worker's id when several run. */
  base?: Record<string, unknown>;
}

/**
 * pino JSON, one line per event. Secrets are kept out by construction (they travel as Secret
 * objects, which render as "[redacted]"); the redact list is a second net for plain fields
 * that must never be written, should one ever be passed by mistake.
 */
export function createLogger(options: LogOptions): Logger {
  const usePretty = options.format === 'pretty' || (options.format === 'auto' && !options.destination && process.stdout.isTTY === true);
  const destination = options.destination ?? (usePretty ? prettyStream() : pino.destination({ sync: false }));
  return pino(
    {
      level: options.level,
      base: { pid: process.pid, ...options.base },
      redact: {
        paths: ['password', 'token', 'accessToken', 'clientSecret', 'secret', 'authorization', 'sasl', '*.password', '*.token', '*.accessToken', '*.clientSecret', '*.secret'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/** One line per event (pretty-line.ts), the fields after the message. */
function prettyStream(): DestinationStream {
  return loadPretty()({ colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', hideObject: true, messageFormat: prettyMessage });
}

/** pino-pretty (some 40 modules) is loaded only for a terminal; a service writes JSON. */
function loadPretty(): typeof pretty {
  return createRequire(import.meta.url)('pino-pretty') as typeof pretty;
}
