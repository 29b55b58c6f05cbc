// Preloaded by tests with `node --import`: when the process exits, writes every script it
// parsed (ESM and CommonJS alike, as the inspector sees them) and whether the global Reflect
// was patched to the JSON file named by LOADED_SCRIPTS_REPORT.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const scripts = new Set();
const session = new Session();
session.connect();
session.on('Debugger.scriptParsed', ({ params }) => {
  if (params.url.startsWith('file:') || params.url.startsWith('/')) scripts.add(params.url);
});
session.post('Debugger.enable');

process.on('exit', () => {
  const report = { reflectMetadata: typeof Reflect.getMetadata, scripts: [...scripts] };
  writeFileSync(process.env.LOADED_SCRIPTS_REPORT, JSON.stringify(report));
});
