export const HELP: Record<string, string> = {
  main: `o365-mail-proxy — lets basic-auth IMAP, POP3 and SMTP clients use Exchange Online via OAuth 2.0

Usage: o365-mail-proxy <command> [options]

Commands:
  start          run the proxy (the default command)
  demo           run the proxy against a local fake Exchange Online and print client settings
  doctor         check the config, the Azure app registration and Exchange permissions
  hash-password  make a passwordHash for config accounts
  gen-cert       write a self-signed certificate for the local TLS listeners

Options:
  -h, --help     help for a command (o365-mail-proxy <command> --help)
  -v, --version  print the version
`,
  start: `Usage: o365-mail-proxy start [--config FILE] [--log-level LEVEL] [--log-format FORMAT]

Runs the proxy with the given config file.

  -c, --config FILE      config file (default: config.json)
      --log-level LEVEL  fatal, error, warn, info, debug, trace or silent (overrides log.level)
      --log-format FMT   json, pretty or auto (auto: pretty on a terminal, JSON otherwise)
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
  doctor: `Usage: o365-mail-proxy doctor [--config FILE] [--account NAME] [--protocol imap|pop3|smtp] [--json]

Checks, in order, and prints a checklist (exit code 0 only when everything passes):
  1. the config file (every problem, with the key and the fix);
  2. per app registration: an access token can be obtained (AADSTS errors explained);
  3. the token's claims: tenant, appid, oid (the Enterprise application's object ID), expiry,
     roles, and which role a configured protocol needs but lacks;
  4. per account and protocol: a real XOAUTH2 login to Exchange Online, and on failure the
     likely cause with the PowerShell to run, your IDs filled in.

  -c, --config FILE     config file (default: config.json)
      --account NAME    check only this local account
      --protocol P      check only imap, pop3 or smtp
      --json            the same findings as JSON, for automation
`,
  'hash-password': `Usage: o365-mail-proxy hash-password

Prints a scrypt hash for an account's "passwordHash". On a terminal it asks for the password
twice without echoing it; when stdin is a pipe it reads the password from stdin (one trailing
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
};
