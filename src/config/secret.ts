import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * A value that must never reach a log line or an error message: client secrets, local
 * passwords, access tokens. It is wrapped where it is born (config load, SASL decode, token
 * response) and only `reveal()` gives the raw value back, at the one place that needs it.
 * Every accidental rendering (template string, JSON, util.inspect, pino) prints "[redacted]".
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  get isEmpty(): boolean {
    return this.#value.length === 0;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
