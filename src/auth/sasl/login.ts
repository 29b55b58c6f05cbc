import { Secret } from '../../config/secret.js';
import { SaslError, type SaslServer, type SaslStep } from './mechanism.js';
import { decodeCredential } from './text.js';

const USERNAME_PROMPT = Buffer.from('Username:');
const PASSWORD_PROMPT = Buffer.from('Password:');

/**
 * SASL LOGIN (draft-murchison-sasl-login): the server asks "Username:", then "Password:".
 * An initial response, when a client sends one, is the username.
 */
export function loginServer(): SaslServer {
  let username: string | undefined;
  let started = false;
  return {
    next(response): SaslStep {
      if (!started) {
        started = true;
        if (response === undefined) return { kind: 'challenge', challenge: USERNAME_PROMPT };
      } else if (response === undefined) {
        throw new SaslError('LOGIN expects a response');
      }
      if (username === undefined) {
        username = decodeCredential(response!);
        if (username === '') throw new SaslError('LOGIN username must not be empty');
        return { kind: 'challenge', challenge: PASSWORD_PROMPT };
      }
      const password = decodeCredential(response!);
      if (password === '') throw new SaslError('LOGIN password must not be empty');
      return { kind: 'done', credentials: { username, password: new Secret(password) } };
    },
  };
}
