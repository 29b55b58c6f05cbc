// A real @azure/msal-node PublicClientApplication pointed at the sandbox's Entra, trusting its
// CA through the proxy's own network client (MSAL's default one cannot take an extra CA).
import { PublicClientApplication, type NetworkRequestOptions, type NetworkResponse } from '@azure/msal-node';
import { createNetworkClient } from '../../src/tokens/network-client.js';
import type { Sandbox, SandboxApp } from '../../src/sandbox/index.js';

/** `onAnswer` sees the body of every answer to a POST (token and device code requests). */
export function publicClient(sandbox: Sandbox, app: SandboxApp, onAnswer?: (body: Record<string, unknown>) => void, tenant = sandbox.tenantId): PublicClientApplication {
  const network = createNetworkClient({ ca: sandbox.caPem, timeoutMs: 10_000 });
  return new PublicClientApplication({
    auth: {
      clientId: app.clientId,
      authority: `${sandbox.authorityHost}/${tenant}`,
      knownAuthorities: [new URL(sandbox.authorityHost).host],
    },
    system: {
      networkClient: {
        sendGetRequestAsync: <T>(url: string, options?: NetworkRequestOptions) => network.sendGetRequestAsync<T>(url, options),
        async sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
          const response = await network.sendPostRequestAsync<T>(url, options);
          onAnswer?.(response.body as Record<string, unknown>);
          return response;
        },
      },
    },
  });
}
