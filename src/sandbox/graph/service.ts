// The Graph stand-in as the sandbox wires it: the HTTPS server and the test-facing methods
// (Sandbox.graphSent, graphFault, allowSendAs, ...) over one shared state.
import type { Server } from 'node:https';
import type { Sandbox } from '../types.js';
import type { GraphServerOptions } from './context.js';
import { FaultQueue } from './faults.js';
import { createGraphServer } from './server.js';
import { GraphState } from './state.js';

type GraphApi = Pick<Sandbox, 'addUserWithoutMailbox' | 'graphSent' | 'graphDrafts' | 'graphFault' | 'clearGraphFaults' | 'allowSendAs' | 'restrictGraphAccess' | 'graphConcurrency'>;

export interface GraphService {
  server: Server;
  api: GraphApi;
}

export function createGraphService(options: Omit<GraphServerOptions, 'state' | 'faults'>): GraphService {
  const state = new GraphState();
  const faults = new FaultQueue();
  const server = createGraphServer({ ...options, state, faults });
  const lower = (list: string[]): Set<string> => new Set(list.map((a) => a.toLowerCase()));
  const api: GraphApi = {
    addUserWithoutMailbox: (address) => void state.usersWithoutMailbox.add(address.toLowerCase()),
    graphSent: (mailbox) => state.sent.filter((m) => mailbox === undefined || m.mailbox.toLowerCase() === mailbox.toLowerCase()),
    graphDrafts: (mailbox) => [...state.draftsOf(mailbox).keys()],
    graphFault: (fault) => faults.add(fault),
    clearGraphFaults: () => faults.clear(),
    allowSendAs: (mailbox, addresses) => void state.sendAs.set(mailbox.toLowerCase(), lower(addresses)),
    restrictGraphAccess: (clientId, mailboxes) => {
      if (mailboxes === null) state.accessPolicies.delete(clientId.toLowerCase());
      else state.accessPolicies.set(clientId.toLowerCase(), lower(mailboxes));
    },
    graphConcurrency: (mailbox) => ({ ...state.counter(mailbox) }),
  };
  return { server, api };
}
