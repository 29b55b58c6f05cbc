/**
 * Watches the proxy's output (pino JSON lines on stdout, anything on stderr): no line at
 * error or fatal level, nothing that is not a log line (a stack trace, a warning from Node),
 * and none of the secrets in any form it could take in a log line. Pure: fed text, keeps
 * the first problems it saw.
 */
export class LogWatch {
  readonly problems: string[] = [];
  readonly #forms: { secret: string; form: string }[];
  #partial = '';
  #lines = 0;
  /** Sessions that logged "connect" and not yet "close". */
  readonly #open = new Set<string>();
  #problemCount = 0;

  /** `secrets`: name → value, e.g. { password: 'p ä"ss' }. */
  constructor(secrets: Record<string, string>) {
    this.#forms = Object.entries(secrets).flatMap(([name, value]) => secretForms(value).map((form) => ({ secret: name, form })));
  }

  get lines(): number {
    return this.#lines;
  }

  get problemCount(): number {
    return this.#problemCount;
  }

  get openSessions(): number {
    return this.#open.size;
  }

  push(chunk: string): void {
    const text = this.#partial + chunk;
    const end = text.lastIndexOf('\n');
    if (end === -1) {
      this.#partial = text;
      return;
    }
    this.#partial = text.slice(end + 1);
    for (const line of text.slice(0, end).split('\n')) if (line) this.#line(line);
  }

  /** The rest of the output, once the process has exited. */
  end(): void {
    if (this.#partial) this.#line(this.#partial);
    this.#partial = '';
  }

  #line(line: string): void {
    this.#lines++;
    const leaked = this.#forms.find(({ form }) => line.includes(form));
    if (leaked) return this.#problem(`the ${leaked.secret} is in the log: ${clip(line.replace(leaked.form, `<${leaked.secret}>`))}`);
    if (JWT.test(line)) return this.#problem(`an access token is in the log: ${clip(line.replace(JWT, '<token>'))}`);
    const level = /^\{"level":(\d+)/.exec(line);
    if (!level) return this.#problem(`not a log line: ${clip(line)}`);
    if (Number(level[1]) >= 50) this.#problem(`error-level log line: ${clip(line)}`);
    const event = /"sid":"([^"]+)".*?"event":"(connect|close)"/.exec(line);
    if (event?.[2] === 'connect') this.#open.add(event[1]!);
    else if (event) this.#open.delete(event[1]!);
  }

  #problem(text: string): void {
    this.#problemCount++;
    if (this.problems.length < 10) this.problems.push(text);
  }
}

/** A signed JWT (header.payload.signature, base64url): the shape of every access token. */
const JWT = /eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}/;

/** How a secret can appear in a JSON log line: as is, JSON-escaped, base64 (a SASL payload). */
function secretForms(value: string): string[] {
  const forms = [value, JSON.stringify(value).slice(1, -1), Buffer.from(value).toString('base64').replace(/=+$/, '')];
  return [...new Set(forms)].filter((form) => form.length >= 6);
}

function clip(line: string): string {
  return line.length > 400 ? `${line.slice(0, 400)}…` : line;
}
