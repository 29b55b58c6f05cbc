import { ConfidentialClientApplication, LogLevel, type Configuration } from '@azure/msal-node';
import type { Logger } from 'pino';
import type { AppConfig, HttpProxyConfig } from '../config/types.js';
import { MICROSOFT_AUTHORITY_HOSTS } from '../config/clouds.js';
import { Secret } from '../config/secret.js';
import { readTokenClaims, type TokenClaims } from './claims.js';
import { TokenError } from './errors.js';
import { createNetworkClient, type NetworkFailure, type TokenNetworkClient } from './network-client.js';

export interface AccessToken {
  token: Secret;
  /** Epoch milliseconds. */
  expiresAt: number;
  claims: TokenClaims | undefined;
}

/**
 * Where tokens come from: one request per call, no caching (the provider decides when to ask).
 * MSAL over the network in the proxy; a fake in the provider's unit tests.
 */
export interface TokenSource {
  acquire(): Promise<AccessToken>;
  /** What the network said about the last failed request, once (MSAL reports it as a bare code). */
  takeLastFailure(): NetworkFailure | undefined;
}

export interface MsalSourceOptions {
  requestTimeoutMs: number;
  ca?: string;
  /** Token requests go through this proxy's CONNECT tunnels. */
  proxy?: HttpProxyConfig;
  log: Logger;
}

/** App-only tokens for one app registration (OAuth 2.0 client credentials via MSAL). */
export function msalTokenSource(app: AppConfig, options: MsalSourceOptions): TokenSource {
  const network = createNetworkClient({ timeoutMs: options.requestTimeoutMs, ...(options.ca ? { ca: options.ca } : {}), ...(options.proxy ? { proxy: options.proxy } : {}) });
  const msal = new ConfidentialClientApplication(msalConfiguration(app, options.log, network));
  return {
    async acquire() {
      // skipCache: the provider decides when to renew; MSAL's cache would hand back a token
      // until 5 minutes before expiry, which is too late for a new IMAP session.
      const result = await msal.acquireTokenByClientCredential({ scopes: [app.scope], skipCache: true });
      if (!result?.accessToken) {
        throw new TokenError('token service answered without a token', true, 'token response had no access_token');
      }
      const claims = readTokenClaims(result.accessToken);
      const expiresAt = result.expiresOn?.getTime() ?? (claims?.exp ? claims.exp * 1000 : Date.now() + 3_600_000);
      return { token: new Secret(result.accessToken), expiresAt, claims };
    },
    takeLastFailure: () => network.takeLastFailure(),
  };
}

function msalConfiguration(app: AppConfig, log: Logger, networkClient: TokenNetworkClient): Configuration {
  const host = new URL(app.authorityHost).host;
  const credential = app.credential;
  return {
    auth: {
      clientId: app.clientId,
      authority: `${app.authorityHost}/${app.tenantId}`,
      // Hosts other than Microsoft's (a test authority, a private cloud) must be declared,
      // else MSAL asks Microsoft's instance discovery about them.
      ...(MICROSOFT_AUTHORITY_HOSTS.has(host) ? {} : { knownAuthorities: [host] }),
      ...(credential.kind === 'secret'
        ? { clientSecret: credential.clientSecret.reveal() }
        : credential.kind === 'certificate'
          ? { clientCertificate: { thumbprintSha256: credential.thumbprintSha256, privateKey: credential.privateKey.reveal() } }
          : {}),
    },
    system: {
      networkClient,
      loggerOptions: {
        // MSAL's own logs can carry request details; keep only warnings, without PII.
        piiLoggingEnabled: false,
        logLevel: LogLevel.Warning,
        loggerCallback: (_level, message) => log.debug({ event: 'msal', app: app.name, msal: message }, 'msal'),
      },
    },
  };
}
