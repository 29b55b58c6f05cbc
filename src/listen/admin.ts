import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { HostPort } from '../config/types.js';
import type { ProxyContext } from '../auth/context.js';
import type { RunningProxy } from './proxy.js';

const READY_TIMEOUT_MS = 10_000;

/**
 * The optional admin HTTP listener, for service managers and Kubernetes probes:
 *   GET /healthz  200 while the process runs
 *   GET /readyz   200 when the listeners are bound and every app registration gets a token
 *                 (cached tokens count), else 503 with the reasons as JSON
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
      void view.readiness().then(({ ready, apps }) => send(ready && !stopping ? 200 : 503, 'application/json', `${JSON.stringify({ ready: ready && !stopping, apps })}\n`));
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
}

/** What the admin listener shows: one process's proxy, or a primary's view over its workers. */
export interface AdminView {
  metrics: { contentType: string; render(): Promise<string> };
  readiness(): Promise<Readiness>;
}

function proxyView(proxy: RunningProxy): AdminView {
  return { metrics: proxy.metrics, readiness: () => tokenReadiness(proxy.context()) };
}

/** Ready when every app registration gets a token (cached tokens count). */
export async function tokenReadiness(context: ProxyContext): Promise<Readiness> {
  const apps: Record<string, string> = {};
  await Promise.all([...context.tokens].map(async ([name, provider]) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve('token request timed out'), READY_TIMEOUT_MS);
    });
    apps[name] = await Promise.race([provider.getToken().then(() => 'ok', (error: Error) => error.message), timeout]);
    clearTimeout(timer);
  }));
  return { ready: Object.values(apps).every((state) => state === 'ok'), apps };
}
