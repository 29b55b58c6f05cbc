import { Secret } from '../config/secret.js';

/** Reads a password from the terminal without echoing it. */
export function promptHidden(question: string): Promise<Secret> {
  const input = process.stdin;
  return new Promise((resolve, reject) => {
    // Echo goes off before the prompt shows, so nothing typed early is echoed.
    input.setRawMode(true);
    process.stderr.write(question);
    let typed = '';
    input.resume();
    input.setEncoding('utf8');
    const done = (result: Secret | Error) => {
      input.setRawMode(false);
      input.pause();
      input.off('data', onData);
      process.stderr.write('\n');
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const onData = (text: string) => {
      for (const char of text) {
        if (char === '\r' || char === '\n') return done(new Secret(typed));
        if (char === '\u0003' || char === '\u0004') return done(new Error('cancelled'));
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else typed += char;
      }
    };
    input.on('data', onData);
  });
}

/** Reads all of stdin (for scripts: `printf %s pass | o365-mail-proxy hash-password`). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
