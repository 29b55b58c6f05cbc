// Wires the delegated flows together: one place holding their state (sign-ins, the browser)
// and the contexts the endpoints take, plus the test controls the Sandbox exposes.
import type { Directory } from '../directory.js';
import type { Sandbox, SandboxStats } from '../types.js';
import type { AuthorizeContext, BrowserState } from './authorize.js';
import { answerDeviceCode, type DeviceCodeContext } from './device-code.js';
import type { DelegatedContext } from './issue-tokens.js';
import type { SigningKey } from './keys.js';
import { SignIns } from './sign-ins.js';

/** Exchange Online answers to both names of its resource (exchange-online.md, "Delegated sign-in"). */
const COMMERCIAL_ALIASES = ['https://outlook.office365.com', 'https://outlook.office.com'];

export interface DelegatedOptions {
  directory: Directory;
  key: SigningKey;
  stats: SandboxStats;
  lifetimeSeconds: number;
  exchangeAudience: string;
  deviceCodeLifetimeSeconds: number;
  deviceCodeIntervalSeconds: number;
  authorityHost: () => string;
}

export interface DelegatedFlows {
  tokens: DelegatedContext;
  deviceCodes: DeviceCodeContext;
  authorize: AuthorizeContext;
  /** Resources Exchange accepts delegated and app-only tokens for (lower case). */
  exchangeResources: Set<string>;
  controls: Pick<Sandbox, 'approveDeviceCode' | 'declineDeviceCode' | 'expireDeviceCode' | 'pendingDeviceCodes' | 'setBrowserUser' | 'failRefreshToken' | 'revokeSignIns'>;
}

export function exchangeResourcesFor(audience: string): Set<string> {
  const lower = audience.toLowerCase();
  return new Set(COMMERCIAL_ALIASES.includes(lower) ? COMMERCIAL_ALIASES : [lower]);
}

export function createDelegatedFlows(options: DelegatedOptions): DelegatedFlows {
  const { directory } = options;
  const signIns = new SignIns();
  const browser: BrowserState = {};
  const exchangeResources = exchangeResourcesFor(options.exchangeAudience);
  const deviceCodes: DeviceCodeContext = { directory, signIns, lifetimeSeconds: options.deviceCodeLifetimeSeconds, intervalSeconds: options.deviceCodeIntervalSeconds };
  const user = (upn: string) => {
    const found = directory.user(upn);
    if (!found) throw new Error(`sandbox: no user ${upn}; call addUser first`);
    return found;
  };
  return {
    tokens: {
      directory, key: options.key, signIns, stats: options.stats, lifetimeSeconds: options.lifetimeSeconds,
      deviceCodeLifetimeSeconds: options.deviceCodeLifetimeSeconds, deviceCodeIntervalSeconds: options.deviceCodeIntervalSeconds,
      exchangeResources, idTokenIssuer: () => `${options.authorityHost()}/${directory.tenantId}/v2.0`,
    },
    deviceCodes,
    authorize: { directory, signIns, browser },
    exchangeResources,
    controls: {
      approveDeviceCode: (userCode, upn) => answerDeviceCode(deviceCodes, userCode, { approveAs: upn }),
      declineDeviceCode: (userCode) => answerDeviceCode(deviceCodes, userCode, 'decline'),
      expireDeviceCode: (userCode) => answerDeviceCode(deviceCodes, userCode, 'expire'),
      pendingDeviceCodes: () => signIns.pendingUserCodes(),
      setBrowserUser(upn, opts = {}) {
        if (upn !== undefined) user(upn);
        browser.upn = upn;
        browser.decline = opts.decline ?? false;
      },
      failRefreshToken(refreshToken, failure) {
        const state = signIns.refreshToken(refreshToken);
        if (!state) throw new Error('sandbox: failRefreshToken got a refresh token the sandbox never issued');
        if (failure === undefined) delete state.failure;
        else state.failure = failure;
      },
      revokeSignIns: (upn) => directory.revokeSignIns(user(upn)),
    },
  };
}
