/**
 * The layering of src/, checked by `npm test` (npm run check:layers). Floors, bottom up:
 *
 *   wire, config          pure wire formats; the config's shape and loading
 *   ops, outbound         logging, metrics, certificate checks; the way out (HTTP proxy tunnels)
 *   tokens, upstream      Entra ID tokens; Exchange sessions (connect, XOAUTH2, SMTP client)
 *   auth                  local accounts, lockout, the login pipeline
 *   fronts                what clients talk to (IMAP, POP3, SMTP), and the pipe
 *   listen, doctor        listeners and admission; the setup checks
 *   cli                   commands
 *
 * A module imports only from its own floor's folder or below. The sandbox (fake Entra ID and
 * Exchange) imports nothing of the proxy, and only the demo command imports the sandbox.
 */
const floors = [
  ['wire', 'config'],
  ['ops', 'outbound'],
  ['tokens', 'upstream'],
  ['auth'],
  ['fronts'],
  ['listen', 'doctor'],
  ['cli'],
];

/** Folders of a floor above `index`, as a path pattern. */
const above = (index) => `^src/(${floors.slice(index + 1).flat().join('|')})/`;

const upward = floors.flatMap((folders, index) => index === floors.length - 1 ? [] : folders.map((folder) => ({
  name: `no-upward-from-${folder}`,
  comment: `${folder}/ sits below ${floors.slice(index + 1).flat().join(', ')}: it must not import them`,
  severity: 'error',
  from: { path: `^src/${folder}/` },
  to: { path: above(index) },
})));

/** Folders on the same floor stay apart too, except where named here. */
const sideways = [
  { name: 'wire-imports-nothing', from: '^src/wire/', to: '^src/(?!wire/)' },
  { name: 'config-apart-from-wire', from: '^src/config/', to: '^src/wire/' },
  { name: 'ops-apart-from-outbound', from: '^src/ops/', to: '^src/outbound/' },
  { name: 'tokens-apart-from-upstream', from: '^src/tokens/', to: '^src/upstream/' },
  { name: 'doctor-apart-from-listen', from: '^src/doctor/', to: '^src/listen/' },
].map(({ name, from, to }) => ({ name, severity: 'error', from: { path: from }, to: { path: to } }));

module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'sandbox-stands-alone',
      comment: 'the sandbox plays Microsoft: it must work without any code of the proxy',
      severity: 'error',
      from: { path: '^src/sandbox/' },
      to: { path: '^src/(?!sandbox/)' },
    },
    {
      name: 'only-the-demo-uses-the-sandbox',
      severity: 'error',
      from: { path: '^src/(?!sandbox/)', pathNot: '^src/cli/demo\\.ts$' },
      to: { path: '^src/sandbox/' },
    },
    ...upward,
    ...sideways,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
    // The TypeScript compiler this project uses (7, native) has no JavaScript API to parse with.
    parser: 'swc',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
