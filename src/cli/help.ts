import { COMMANDS, COMMAND_NAMES, type CommandName } from './spec.js';

/** The overview: the command list comes from the command table, so it cannot miss one. */
export function mainHelp(): string {
  const width = Math.max(...COMMAND_NAMES.map((name) => name.length)) + 2;
  const commands = COMMAND_NAMES.map((name) => `  ${name.padEnd(width)}${COMMANDS[name].summary}`).join('\n');
  return `o365-mail-proxy — lets basic-auth IMAP, POP3 and SMTP clients use Exchange Online via OAuth 2.0

Usage: o365-mail-proxy <command> [options]

Commands:
${commands}

Options:
  -h, --help     help for a command (also: o365-mail-proxy help <command>)
  -v, --version  print the version (every command accepts it)
`;
}

export const HELP: Record<CommandName, string> = {
  start: `Usage: o365-mail-proxy start [--config FILE] [--log-level LEVEL] [--log-format FORMAT] [--watch-config]

Runs the proxy with the given config file. SIGHUP (systemctl reload) reads the file again; a
broken file is refused and logged, and the running config stays.

  -c, --config FILE      config file (default: config.json)
      --log-level LEVEL  fatal, error, warn, info, debug, trace or silent (overrides log.level)
      --log-format FMT   json, pretty or auto (auto: pretty on a terminal, JSON otherwise)
      --watch-config     reload by itself when the config file changes (checked every second,
                         applied once it has been quiet for half a second; the same rules as
                         SIGHUP). The way to reload on Windows, which has no SIGHUP.
`,
  'check-config': `Usage: o365-mail-proxy check-config [--config FILE] [--json]

Checks a config file the way start does, without contacting anything and without binding a
port: every key, the \${env:} and \${file:} references (so run it with the service's
environment), the certificate and key files and whether they belong together, the password
hashes. Exit code 0 only when start would accept the file, 1 with one line per problem
otherwise. For CI pipelines, and before a reload. Ports another program holds show only at start.

  -c, --config FILE  config file (default: config.json)
      --json         {"ok": true|false, "problems": [{"key", "problem", "fix"}], "warnings": [...]}
`,
  accounts: `Usage: o365-mail-proxy accounts [--config FILE] [--json]

Lists the local accounts: username, mailbox, app registration, allowed protocols, auth mode and,
for delegated accounts, whether a sign-in is stored and when it was last renewed. Reads only the
accounts, the listeners and tokenStore.dir, so it works in a shell that lacks the service's secrets.

  -c, --config FILE  config file (default: config.json)
      --json         the same as a JSON array
`,
  login: `Usage: o365-mail-proxy login <account> [--browser] [--config FILE]

For an account with "auth": "delegated": the person who owns its mailbox signs in once, and the
refresh token is stored in tokenStore.dir, encrypted, for the proxy to renew. By default with a
device code: it prints the address and the code exactly as Entra ID gives them, to enter in any
browser, on any device; it waits, then shows who signed in and the permissions granted.
A sign-in by a user who is not the account's mailbox is refused, unless that user can open it
(a shared mailbox: then it says so). Without tokenStore.key it first asks for the account's
local password (without echo, or the first line of stdin), which encrypts the sign-in.

  -c, --config FILE  config file (default: config.json)
      --browser      sign in with a browser on this computer instead (authorization code with
                     PKCE; the answer comes back to a listener on 127.0.0.1 at a free port).
                     It prints the address to open, and opens a browser where there is a desktop.
`,
  logout: `Usage: o365-mail-proxy logout <account> [--config FILE]

Removes the stored sign-in of a delegated account. The proxy then refuses the account's logins
with a message that names "o365-mail-proxy login <account>". The refresh token itself stays valid
at Entra ID until it expires: to end it there, revoke the user's sessions.

  -c, --config FILE  config file (default: config.json)
`,
  'test-login': `Usage: o365-mail-proxy test-login <account> [--protocol imap|pop3|smtp] [--port N] [--config FILE]

Logs in to the running proxy as a legacy client would, with the account's local password
(asked without echo, or read from stdin: printf '%s' "$PW" | o365-mail-proxy test-login talend),
and reports each step: connect, greeting, STARTTLS or TLS, login, a harmless command (IMAP
SELECT INBOX, POP3 STAT, SMTP NOOP) and logout. It tries every listener in the config that
serves one of the account's protocols. Exit code 0 only when every login worked.
A wrong password counts towards the lockout like any other (clients.maxFailedLogins).

  -c, --config FILE  the running proxy's config file (default: config.json)
      --protocol P   only listeners for imap, pop3 or smtp
      --port N       only the listener on this port
`,
  demo: `Usage: o365-mail-proxy demo [--port-base N] [--log-level LEVEL] [--log-format FORMAT]

Starts a local stand-in for Entra ID and Exchange Online (nothing leaves this machine), then
the proxy in front of it, and prints the settings to give a mail client. Stop with Ctrl-C; the
demo then deletes its temporary directory (config, client secret, key).

      --port-base N      listen on N plus the well-known ports: N+143 IMAP, N+144 IMAP STARTTLS,
                         N+993 IMAPS, N+110/111/995 POP3, N+25/587/465 SMTP (default N: 1000,
                         so 1143, 1144, 1993, ...). Use another N when those ports are taken.
      --log-level LEVEL  warn by default, so the settings stay on screen; info shows every session
      --log-format FMT   json, pretty or auto
`,
  doctor: `Usage: o365-mail-proxy doctor [--config FILE] [--account NAME] [--protocol imap|pop3|smtp] [--send-test ADDRESS] [--json]

Checks, in order, and prints a checklist (exit code 0 only when everything passes):
  1. the config file (every problem, with the key and the fix);
  2. per app registration: an access token can be obtained (AADSTS errors explained);
  3. the token's claims: tenant, appid, oid (the Enterprise application's object ID), expiry,
     roles, and which role a configured protocol needs but lacks;
  4. per account and protocol: a real XOAUTH2 login to Exchange Online, and on failure the
     likely cause with the PowerShell to run, your IDs filled in;
  5. accounts with smtpVia graph or auto: the Microsoft Graph token's roles (Mail.Send,
     Mail.ReadWrite), which path "auto" takes and why, and whether an application access policy
     keeps the app from the mailbox.

  -c, --config FILE     config file (default: config.json)
      --account NAME    check only this local account
      --protocol P      check only imap, pop3 or smtp
      --send-test ADDR  send a real test message to ADDR from each account, through the path it uses
      --json            the same findings as JSON, for automation
`,
  'hash-password': `Usage: o365-mail-proxy hash-password

Prints a scrypt hash for an account's "passwordHash". On a terminal it asks for the password
twice without echoing it (three tries to type the same twice); when stdin is a pipe it reads the password from stdin (one trailing
newline removed) and prints only the hash:

  printf '%s' 'the password' | o365-mail-proxy hash-password
`,
  'gen-cert': `Usage: o365-mail-proxy gen-cert [--out DIR] [--host NAME]... [--group GROUP] [--force]

Writes a self-signed certificate and key (DIR/localhost.crt, DIR/localhost.key) for the local
TLS listeners, valid for localhost, 127.0.0.1 and ::1 plus any --host names and addresses.
The key is readable only by the user who ran gen-cert, unless --group says otherwise.

  --out DIR      where to write (default: certs)
  --host NAME    an extra DNS name or IP address (repeatable); the first one becomes the subject
  --group GROUP  let this group read the key too (mode 0640): the group the service runs as,
                 e.g. o365-mail-proxy (systemd) or 1000 (the container image)
  --force        replace existing files
`,
  completion: `Usage: o365-mail-proxy completion bash|powershell

Prints a script that completes commands, options and their values (files after --config,
imap/pop3/smtp after --protocol). To install it:

  bash        o365-mail-proxy completion bash > ~/.local/share/bash-completion/completions/o365-mail-proxy
              (or add  source <(o365-mail-proxy completion bash)  to ~/.bashrc)
  PowerShell  add this line to $PROFILE:
              o365-mail-proxy completion powershell | Out-String | Invoke-Expression
`,
  help: `Usage: o365-mail-proxy help [command]

Lists the commands, or explains one (the same as o365-mail-proxy <command> --help).
`,
};
