# syntax=docker/dockerfile:1
# spotmax container image: build with dev dependencies, run with production dependencies only.
#   docker build -t spotmax:0.1.0 --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) .
#   docker run --rm -p 8080:8080 -e AWS_REGION=eu-west-1 -e SPOTMAX_QUEUE_URL=... spotmax:0.1.0
#   docker run --rm -p 8080:8080 spotmax:0.1.0 run --cloud sim          # the demo, no AWS needed
# Works with a read-only root filesystem: the only writable path it needs is /tmp (a volume).
# Deployment guide: deploy/README.md. `npm run test:image` builds this file with buildah on a stand-in
# base and runs --help, plan against moto, the demo's plan, simulate and the health check inside the
# image.

# Node 22 (issue 15: the AWS SDK drops Node 20 in January 2027), pinned by the multi-arch index digest so
# amd64 and arm64 builds start from the same, reproducible base. Bump tag and digest together.
ARG NODE_IMAGE=node:22.20.0-bookworm-slim@sha256:b21fe589dfbe5cc39365d0544b9be3f1f33f55f3c86c87a76ff65a02f8f5848e

# ---- build: compile TypeScript with the dev dependencies ----------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

# ---- deps: production dependencies only ---------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# ---- runtime ------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ARG NODE_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
# The repository's URL.
ARG SOURCE_URL=
# OCI image labels, with the keys of the opencontainers image-spec (annotations.md). A local build fills
# version, revision, created and source with --build-arg (deploy/README.md section 1; npm run test:image
# passes all but SOURCE_URL). The release workflow (deploy/github-actions/release.yml) passes no build
# arguments: docker/metadata-action's labels (version from the tag, revision, created, source and url
# from the repository) are given to the build and replace these.
LABEL org.opencontainers.image.title="spotmax" \
      org.opencontainers.image.description="Keeps EC2 Auto Scaling groups on Spot capacity healthy and cheap: policy-as-code reconciler plus a fast path for Spot interruptions." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"
# tini is PID 1: it forwards SIGTERM to node (so spotmax drains in-flight work when ECS stops the task)
# and reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 spotmax \
 && useradd --system --uid 10001 --gid spotmax --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin spotmax
WORKDIR /app
ENV NODE_ENV=production \
    SPOTMAX_POLICIES=/policies \
    TMPDIR=/tmp \
    NPM_CONFIG_UPDATE_NOTIFIER=false
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
# The scenarios `run --cloud sim` (the demo), `plan|apply|validate --cloud sim` and `simulate` play, with
# their policies; the demo finds demo.yaml next to dist/.
COPY bench/scenarios ./bench/scenarios
# The default policy source: the repository's policies/ folder, baked in. Mount a folder over
# /policies (or use the git-sync sidecar of deploy/cloudformation/spotmax.yaml) to change them at run time.
COPY policies /policies
USER 10001:10001
VOLUME ["/tmp"]
EXPOSE 8080
# No curl in the slim image; Node 22 has fetch.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/bin/spotmax.js"]
CMD ["run", "--cloud", "aws"]
