import { decodeBase64, encodeBase64 } from '../../wire/base64.js';
import { SaslError, type BasicCredentials, type SaslServer } from './mechanism.js';

export type ExchangeStep =
  | { kind: 'challenge'; line: string }
  | { kind: 'done'; credentials: BasicCredentials }
  | { kind: 'cancelled' }
  | { kind: 'malformed'; message: string };

/**
 * Drives any SASL server mechanism over a line protocol the way IMAP (RFC 3501, RFC 4959)
 * and POP3 (RFC 5034) both do it: challenges go out as "+ <base64>", responses come in as
 * base64 lines, "*" cancels, and an initial response of "=" means "empty". Written once for
 * every mechanism and both protocols.
 */
export class SaslExchange {
  constructor(private readonly server: SaslServer) {}

  /** Starts with the optional initial response (base64 text as sent on the command line). */
  start(initialResponse: string | undefined): ExchangeStep {
    if (initialResponse === undefined) return this.#step(undefined);
    return this.#decodeAndStep(initialResponse);
  }

  respond(line: string): ExchangeStep {
    if (line === '*') return { kind: 'cancelled' };
    return this.#decodeAndStep(line);
  }

  #decodeAndStep(text: string): ExchangeStep {
    const data = text === '=' ? Buffer.alloc(0) : decodeBase64(text);
    if (!data) return { kind: 'malformed', message: 'Invalid base64 data.' };
    return this.#step(data);
  }

  #step(response: Buffer | undefined): ExchangeStep {
    try {
      const step = this.server.next(response);
      if (step.kind === 'done') return step;
      return { kind: 'challenge', line: `+ ${encodeBase64(step.challenge)}` };
    } catch (error) {
      if (error instanceof SaslError) return { kind: 'malformed', message: `${error.message}.` };
      throw error;
    }
  }
}
