import { Secret } from '../../config/secret.js';
import { SaslError, type SaslServer, type SaslStep } from './mechanism.js';
import { decodeCredential } from './text.js';

/**
 * SASL PLAIN (RFC 4616): one message `[authzid] NUL authcid NUL passwd`, UTF-8.
 * Without an initial response the server first sends an empty challenge.
 */
export function plainServer(): SaslServer {
  let asked = false;
  return {
    next(response): SaslStep {
      if (response === undefined) {
        if (asked) throw new SaslError('PLAIN expects a response');
        asked = true;
        return { kind: 'challenge', challenge: Buffer.alloc(0) };
      }
      const parts = splitNul(response);
      if (parts.length !== 3) throw new SaslError('PLAIN message must have three NUL-separated fields');
      const [authzid, username, password] = parts.map(decodeCredential) as [string, string, string];
      if (username === '' || password === '') throw new SaslError('PLAIN username and password must not be empty');
      return {
        kind: 'done',
        credentials: { username, password: new Secret(password), ...(authzid ? { authzid } : {}) },
      };
    },
  };
}

function splitNul(data: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (let at = data.indexOf(0); at !== -1; at = data.indexOf(0, start)) {
    parts.push(data.subarray(start, at));
    start = at + 1;
  }
  parts.push(data.subarray(start));
  return parts;
}
