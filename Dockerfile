# o365-mail-proxy container: small, non-root; config and certificates are mounted (see the
# README's "Docker" part for the listeners' addresses and the key's owner):
#   docker build -t o365-mail-proxy:0.1.0 .
#   docker run --rm --network host --user "$(id -u):$(id -g)" -e CONTOSO_CLIENT_SECRET \
#     -v "$PWD/config.json:/etc/o365-mail-proxy/config.json:ro" -v "$PWD/certs:/etc/o365-mail-proxy/certs:ro" o365-mail-proxy:0.1.0
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Read at run time: the config's shape and defaults.
COPY config.schema.json ./
# Delegated accounts' sign-ins: tokenStore.dir's default is /var/lib/o365-mail-proxy, a volume
# (mount one that outlives the container, writable by the uid the container runs as).
ENV XDG_STATE_HOME=/var/lib
RUN mkdir -p /var/lib/o365-mail-proxy && chown node:node /var/lib/o365-mail-proxy && chmod 0700 /var/lib/o365-mail-proxy
VOLUME ["/var/lib/o365-mail-proxy"]
# The "node" user of the base image (uid 1000, group 1000); nothing in the image is writable by
# it but the sign-in volume, and it reads nothing but what is mounted, so any other uid works
# too (docker run --user; then mount a sign-in folder that uid owns).
USER node
# Listeners in a container must bind 0.0.0.0 with TLS, or set allowPlaintextOnNetwork (sidecars
# share the pod's loopback and can stay on 127.0.0.1). The admin port serves the probes.
EXPOSE 1143 1110 1587 9090
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["start", "--config", "/etc/o365-mail-proxy/config.json"]
