# syntax=docker/dockerfile:1
# Stampede's API or worker image (the same image runs both: `serve` by default, `worker` in compose).
# Two stages: the first installs everything and compiles TypeScript, the second keeps only the
# production dependencies, the compiled code and the migrations, and runs as an unprivileged user.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# Native addons (Argon2) have prebuilt binaries for linux-x64/arm64 glibc; no compiler is needed.
COPY package.json package-lock.json ./
# npm workspaces: the typed client and the console (built into console/dist by npm run build).
COPY packages/client/package.json ./packages/client/
COPY console/package.json ./console/
RUN npm install --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY drizzle ./drizzle
COPY packages ./packages
COPY console ./console
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --from=build --chown=node:node /app/drizzle ./drizzle
COPY --from=build --chown=node:node /app/console/dist ./console/dist
# The embedded default (no DATABASE_URL) keeps its data here; mount a volume to keep it.
RUN mkdir -p /app/data && chown node:node /app/data
ENV DATA_DIR=/app/data
USER node
EXPOSE 3000
# Readiness, not liveness: /readyz answers 200 only once every dependency answers.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/main.js"]
CMD ["serve"]
