# Two stages: the build compiles TypeScript with every dependency installed; the runtime image
# holds the compiled code and the production dependencies only (no TypeScript runner, no
# second Node: `node` is the image's own). One image for both roles:
# `node dist/main.js gateway` (default) or `node dist/main.js webhooks`.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY console ./console
RUN npm run build

FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# AsyncLocalStorage on continuation frames instead of promise hooks (Node 24's default): MikroORM's
# transactions enable an AsyncLocalStorage, and with promise hooks every promise of the process
# pays for it afterwards (about 10% of createDeposit's CPU, docs/benchmarks.md). Compose's
# `command:` overrides keep it, being an environment variable.
ENV NODE_OPTIONS=--experimental-async-context-frame
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
EXPOSE 4000 4100
# node runs as PID 1 and receives SIGTERM itself, so it drains (npm would not forward the signal).
CMD ["node", "dist/main.js", "gateway"]
