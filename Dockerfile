# The Retrain worker image (docker-compose.yml runs it twice: queue `retrain`, and `retrain-training` scaled with
# --scale). Two stages: `deps` installs exactly the lockfile with `npm ci`; the runtime stage copies the modules and
# the sources and runs as the unprivileged `node` user. The worker runs the TypeScript sources through tsx (no build
# step, as `npm start` does), so tsx, a devDependency, stays in the image. Debian (glibc) rather than Alpine: the
# Temporal core bridge and @swc/core ship prebuilt glibc binaries.
ARG NODE_VERSION=20.19.5

FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund && npm cache clean --force

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    RETRAIN_HOME=/data \
    TEMPORAL_ADDRESS=temporal:7233 \
    RETRAIN_WORKER_QUEUES=retrain
WORKDIR /app
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --chown=node:node package.json package-lock.json tsconfig.json ./
COPY --chown=node:node workflows ./workflows
COPY --chown=node:node activities ./activities
COPY --chown=node:node ml ./ml
COPY --chown=node:node storage ./storage
COPY --chown=node:node reports ./reports
COPY --chown=node:node serving ./serving
COPY --chown=node:node workers ./workers
COPY --chown=node:node scripts ./scripts
COPY --chown=node:node bin ./bin
# RETRAIN_HOME: created here and owned by `node`, so a fresh named volume mounted on it is writable by the worker.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
CMD ["node", "--import", "tsx", "workers/worker.ts"]
