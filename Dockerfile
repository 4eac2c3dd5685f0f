# webhook-affinity container image.
#   docker build -t webhook-affinity .
#   docker run --rm -p 9090:9090 -e TARGET_URL=http://bots.internal:8080 webhook-affinity
#
# The runtime stage installs exactly what `npm pack` ships, with production dependencies only;
# test/package.test.ts does the same steps without Docker, so CI checks this recipe.
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.page.json ./
COPY page ./page
COPY src ./src
RUN npm run build && npm pack --ignore-scripts --pack-destination /tmp && mv /tmp/webhook-affinity-*.tgz /tmp/app.tgz

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production \
    PORT=9090 \
    ADMIN_HOST=0.0.0.0 \
    ADMIN_PORT=9091
WORKDIR /app
COPY --from=build /tmp/app.tgz /tmp/app.tgz
COPY --from=build /src/package-lock.json ./
RUN tar -xzf /tmp/app.tgz --strip-components=1 \
 && rm /tmp/app.tgz \
 && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force
USER node
EXPOSE 9090 9091
# Liveness: /healthz where the admin listener listens (ADMIN_HOST, ADMIN_PORT), or the proxy's
# own port with ADMIN_PORT=off (src/healthcheck.ts; the slim image has no curl).
HEALTHCHECK --interval=15s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "dist/healthcheck.js"]
# SIGTERM drains in-flight requests (SHUTDOWN_TIMEOUT_MS); node runs as PID 1 and handles it.
STOPSIGNAL SIGTERM
CMD ["node", "dist/server.js"]
