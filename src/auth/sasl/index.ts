import { loginServer } from './login.js';
import type { SaslServer } from './mechanism.js';
import { plainServer } from './plain.js';

export * from './mechanism.js';
export { decodeBase64, encodeBase64 } from '../../wire/base64.js';

/** The mechanisms the proxy offers to local clients, in the order it advertises them. */
export const SERVER_MECHANISMS = ['PLAIN', 'LOGIN'] as const;

/** Returns a fresh server for a mechanism name (case-insensitive), or undefined if unsupported. */
export function createSaslServer(mechanism: string): SaslServer | undefined {
  switch (mechanism.toUpperCase()) {
    case 'PLAIN':
      return plainServer();
    case 'LOGIN':
      return loginServer();
    default:
      return undefined;
  }
}
