import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { HostPort } from '../config/types.js';
import type { ProxyContext } from '../auth/context.js';
import type { RunningProxy } from './proxy.js';

const READY_TIMEOUT_MS = 10_000;

/**
 * The optional admin HTTP listener, for service managers and Kubernetes probes:
 *   GET /healthz  200 while the process runs
 *   GET /readyz   200 when the listeners are bound, every app registration gets a token
 *                 (cached tokens count) and every delegated account's sign-in works, else
 *                 503 with the reasons as JSON
 *   GET /metrics  Prometheus text format
 * It serves nothing secret and accepts nothing but GET.
 */
export function startAdminServer(proxy: RunningProxy | AdminView, address: HostPort, log: Logger): Promise<Server> {
  const view = 'readiness' in proxy ? proxy : proxyView(proxy);
  let stopping = false;
  const server = createServer((req, res) => {
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n');
    const path = new URL(req.url ?? '/', 'http://admin').pathname;
    if (path === '/healthz') return send(200, 'text/plain', 'ok\n');
    if (path === '/metrics') {
      view.metrics.render().then((body) => send(200, view.metrics.contentType, body), (error: Error) => send(500, 'text/plain', `${error.message}\n`));
      return;
    }
    if (path === '/readyz') {
      void view.readiness().then((state) => {
        const ready = state.ready && !stopping;
        send(ready ? 200 : 503, 'application/json', `${JSON.stringify({ ...state, ready })}\n`);
      });
      return;
    }
    send(404, 'text/plain', 'not found\n');
  });
  server.on('close', () => {
    stopping = true;
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      const bound = server.address();
      log.info({ event: 'admin.listening', host: address.host, port: typeof bound === 'object' && bound ? bound.port : address.port }, 'admin HTTP listener ready');
      resolve(server);
    });
  });
}

export interface Readiness {
  ready: boolean;
  /** Each app registration's token state: "ok" or why not. */
  apps: Record<string, string>;
  /** Each delegated account's sign-in: "ok" or why not (only when there are such accounts). */
  signIns?: Record<string, string>;
}

/** What the admin listener shows: one process's proxy, or a primary's view over its workers. */
export interface AdminView {
  metrics: { contentType: string; render(): Promise<string> };
  readiness(): Promise<Readiness>;
}

function proxyView(proxy: RunningProxy): AdminView {
  return { metrics: proxy.metrics, readiness: () => tokenReadiness(proxy.context()) };
}

/** Ready when every app registration gets a token (cached tokens count) and every sign-in works. */
export async function tokenReadiness(context: ProxyContext): Promise<Readiness> {
  const apps: Record<string, string> = {};
  await Promise.all([...context.tokens].map(async ([name, provider]) => {
    apps[name] = await withinReadyTimeout(provider.getToken());
  }));
  const signIns: Record<string, string> = {};
  await Promise.all([...context.signIns.values()].map(async (signIn) => {
    // With tokenStore.key the sign-in is tried like an app's token; without it only a client's
    // password opens it, so what the last renewal found is the answer.
    const status = signIn.status();
    signIns[signIn.account.username] = signIn.renewsInBackground
      ? await withinReadyTimeout(signIn.getToken())
      : 'cause' in status ? status.cause : 'ok';
  }));
  const ready = [...Object.values(apps), ...Object.values(signIns)].every((state) => state === 'ok');
  return { ready, apps, ...(context.signIns.size > 0 ? { signIns } : {}) };
}

async function withinReadyTimeout(token: Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve('token request timed out'), READY_TIMEOUT_MS);
  });
  const state = await Promise.race([token.then(() => 'ok', (error: Error) => error.message), timeout]);
  clearTimeout(timer);
  return state;
}
