// AUTH on the sandbox's SMTP submission, as Exchange answers it: basic LOGIN read and refused
// (basic authentication is off), XOAUTH2 read, its token checked, and the JSON error challenge
// when the tests ask for it.
import { SERVER_NAME } from '../exchange/identity.js';
import { checkXoauth2, errorChallenge, type TokenCheckContext } from '../exchange/token-check.js';
import type { Mailbox } from '../mail-store.js';
import type { SandboxControls } from '../types.js';

export type Line = string | 'too-long' | null;

/** How the exchange talks to the client. */
export interface SmtpIo {
  reply(text: string): Promise<true>;
  line(): Promise<Line>;
}

/**
 * Runs AUTH `mechanism` (LOGIN or XOAUTH2, upper case) after its initial response. Returns the
 * mailbox a valid token opens; otherwise the client has had its answer, and the result says
 * whether the connection goes on (true) or is gone (false).
 */
export async function exchangeAuth(io: SmtpIo, ctx: { tokens: TokenCheckContext; controls: SandboxControls }, mechanism: string, initial: string | undefined): Promise<Mailbox | boolean> {
  if (mechanism === 'LOGIN') {
    // Basic authentication: read the two answers, then refuse like Exchange does.
    if (initial === undefined) {
      await io.reply('334 VXNlcm5hbWU6');
      const user = await io.line();
      if (user === null) return false;
      if (user === '*') return io.reply('501 5.0.0 Authentication canceled');
    }
    await io.reply('334 UGFzc3dvcmQ6');
    const password = await io.line();
    if (password === null) return false;
    if (password === '*') return io.reply('501 5.0.0 Authentication canceled');
    return io.reply(`535 5.7.139 Authentication unsuccessful, basic authentication is disabled. [${SERVER_NAME}]`);
  }

  let response: Line | undefined = initial === '=' ? '' : initial;
  if (response === undefined) {
    await io.reply('334 ');
    response = await io.line();
    if (response === null) return false;
    if (response === '*') return io.reply('501 5.0.0 Authentication canceled');
  }
  if (ctx.controls.smtpAuthDisabled) {
    return io.reply(`535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. [${SERVER_NAME}]`);
  }
  const verdict = checkXoauth2(ctx.tokens, 'smtp', response === 'too-long' ? '' : response);
  if (verdict.kind !== 'ok') {
    if (ctx.controls.errorChallenge) {
      await io.reply(`334 ${errorChallenge(ctx.tokens.audience)}`);
      if ((await io.line()) === null) return false;
    }
    // Exchange's answer when the token is fine but the app may not open this mailbox.
    if (verdict.kind === 'not-connected') return io.reply('430 4.2.0 STOREDRV; mailbox logon failure');
    return io.reply(`535 5.7.3 Authentication unsuccessful [${SERVER_NAME}]`);
  }
  return verdict.mailbox;
}
