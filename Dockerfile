# voipnow-crm-connector: one image for both roles (ROLE=api | worker | all).
# Build:  docker build -t voipnow-crm-connector .
# The build steps are exercised without Docker by scripts/check-container-build.sh.

# --- build: install everything, compile, then drop the dev dependencies -------------------------
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# From the lockfile. `npm install`, not `npm ci`, for the reason given in .ci/run (a lockfile
# written where some optional platform packages are missing); the lockfile is not rewritten here.
RUN npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# --- runtime: production dependencies, compiled code, the example config; no compiler, no tests ---
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0
WORKDIR /app
# Owned by root and read-only to the service user: the code cannot be changed by the process.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY config ./config
# The only writable place: the ingest spool (var/spool) and the file CRM's call log (var/).
# Mount a volume here in production so the spool survives the container.
RUN mkdir -p /app/var/spool && chown -R node:node /app/var
USER node
EXPOSE 3000
# Liveness only: readiness (Redis, spool) is for the orchestrator's traffic decisions, not restarts.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node is PID 1 (no npm, no shell in between): SIGTERM from `docker stop` reaches the connector itself.
CMD ["node", "dist/main.js"]
