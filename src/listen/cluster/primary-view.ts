import { AggregatorRegistry, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { Metrics } from '../../ops/metrics.js';
import type { AdminView, Readiness } from '../admin.js';
import type { WorkerPool } from './worker-pool.js';

type Snapshot = MetricObjectWithValues<MetricValue<string>>[];

/**
 * The admin listener of a primary: /metrics sums every worker's metrics and the primary's own
 * (the instance-wide counts it keeps, its process figures); /readyz asks every worker.
 */
export function primaryView(pool: WorkerPool, metrics: Metrics): AdminView {
  return {
    metrics: {
      contentType: Registry.PROMETHEUS_CONTENT_TYPE,
      async render() {
        const workers = await Promise.all(pool.ready.map((channel) => channel.request<Snapshot>('metrics').catch(() => [] as Snapshot)));
        // Workers first: a metric summed with 'first' or 'max' takes theirs.
        return AggregatorRegistry.aggregate([...workers, await metrics.snapshot()]).metrics();
      },
    },
    readiness: () => instanceReadiness(pool),
  };
}

/**
 * Ready while at least one worker serves and every serving worker gets its tokens: one worker
 * being replaced does not take the instance out of a balancer's rotation.
 */
async function instanceReadiness(pool: WorkerPool): Promise<Readiness> {
  const answers = await Promise.all(pool.ready.map((channel) => channel.request<Readiness>('readiness').catch((error: Error): Readiness => ({ ready: false, apps: { worker: error.message } }))));
  const apps = worstOf(answers.map((a) => a.apps));
  const signIns = worstOf(answers.map((a) => a.signIns ?? {}));
  const ready = answers.length > 0 && answers.every((a) => a.ready);
  return { ready, apps, ...(Object.keys(signIns).length > 0 ? { signIns } : {}) };
}

/** Per name, the first state that is not "ok" among the workers' answers, else "ok". */
function worstOf(states: Record<string, string>[]): Record<string, string> {
  const merged: Record<string, string> = {};
  for (const answer of states) {
    for (const [name, state] of Object.entries(answer)) if (merged[name] === undefined || merged[name] === 'ok') merged[name] = state;
  }
  return merged;
}
