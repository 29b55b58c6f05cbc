// State of the delegated flows: device codes waiting for the person, authorization codes on
// their way to the token endpoint, and the refresh tokens handed out. In memory, like the rest.
import { randomBytes, randomInt } from 'node:crypto';
import type { SignInFailure } from '../types.js';

export interface DeviceCodeState {
  deviceCode: string;
  userCode: string;
  clientId: string;
  scope: string;
  expiresAt: number;
  intervalMs: number;
  /** When the client last polled (ms), for slow_down. */
  lastPollAt: number;
  status: 'pending' | 'approved' | 'declined' | 'redeemed';
  userObjectId?: string;
}

export interface AuthCodeState {
  clientId: string;
  userObjectId: string;
  scope: string;
  redirectUri: string;
  codeChallenge?: string;
  codeChallengeMethod?: string;
  nonce?: string;
  expiresAt: number;
  redeemed: boolean;
}

export interface RefreshTokenState {
  clientId: string;
  userObjectId: string;
  /** The user's sign-in generation when issued; revokeSignIns moves it on. */
  generation: number;
  /** Epoch ms. */
  issuedAt: number;
  /** Issued to a public client through a desktop redirect URI of the code flow. */
  nativeRedirect?: boolean;
  failure?: SignInFailure;
}

/** How long an expired code is still known (and answered as expired). */
const FORGET_AFTER_MS = 60 * 60 * 1000;
/** Authorization codes live ten minutes at most (RFC 6749 §4.1.2). */
const AUTH_CODE_LIFETIME_MS = 10 * 60 * 1000;
/** Entra's user codes: eight or nine capitals and digits (seen: YZMYLD4K, FRWQDE7YL); the sandbox's have nine. */
const USER_CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** Opaque and long, like Entra's (which are encrypted blobs starting "1.A"). */
const opaque = (prefix: string, bytes: number): string => `${prefix}${randomBytes(bytes).toString('base64url')}`;

export class SignIns {
  readonly #deviceCodes = new Map<string, DeviceCodeState>();
  readonly #authCodes = new Map<string, AuthCodeState>();
  readonly #refreshTokens = new Map<string, RefreshTokenState>();

  newDeviceCode(clientId: string, scope: string, lifetimeSeconds: number, intervalSeconds: number): DeviceCodeState {
    this.#prune();
    let userCode = '';
    for (let i = 0; i < 9; i++) userCode += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
    const state: DeviceCodeState = {
      deviceCode: opaque('DAQABIQEAAAD', 180),
      userCode,
      clientId,
      scope,
      expiresAt: Date.now() + lifetimeSeconds * 1000,
      intervalMs: intervalSeconds * 1000,
      lastPollAt: 0,
      status: 'pending',
    };
    this.#deviceCodes.set(state.deviceCode, state);
    return state;
  }

  deviceCode(deviceCode: string): DeviceCodeState | undefined {
    return this.#deviceCodes.get(deviceCode);
  }

  byUserCode(userCode: string): DeviceCodeState | undefined {
    const wanted = userCode.replace(/[\s-]/g, '').toUpperCase();
    for (const state of this.#deviceCodes.values()) if (state.userCode === wanted) return state;
    return undefined;
  }

  pendingUserCodes(): string[] {
    return [...this.#deviceCodes.values()].filter((s) => s.status === 'pending' && s.expiresAt > Date.now()).map((s) => s.userCode);
  }

  newAuthCode(state: Omit<AuthCodeState, 'expiresAt' | 'redeemed'>): string {
    this.#prune();
    const code = opaque('1.A', 400);
    this.#authCodes.set(code, { ...state, expiresAt: Date.now() + AUTH_CODE_LIFETIME_MS, redeemed: false });
    return code;
  }

  authCode(code: string): AuthCodeState | undefined {
    return this.#authCodes.get(code);
  }

  newRefreshToken(state: RefreshTokenState): string {
    const token = opaque('1.A', 600);
    this.#refreshTokens.set(token, state);
    return token;
  }

  refreshToken(token: string): RefreshTokenState | undefined {
    return this.#refreshTokens.get(token);
  }

  /**
   * Forgets codes long past their expiry, so a demo running for days does not grow; a code
   * just expired is kept a while to be answered expired_token rather than not recognised.
   */
  #prune(): void {
    const forgetBefore = Date.now() - FORGET_AFTER_MS;
    for (const [key, state] of this.#deviceCodes) if (state.expiresAt < forgetBefore) this.#deviceCodes.delete(key);
    for (const [key, state] of this.#authCodes) if (state.expiresAt < forgetBefore) this.#authCodes.delete(key);
  }
}
