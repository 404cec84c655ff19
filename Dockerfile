# One image for both roles: `... src/main.ts gateway` (default) or `... src/main.ts webhooks`.
FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY tsconfig.json ./
COPY src ./src
USER node
EXPOSE 4000 4100
# node runs as PID 1 and receives SIGTERM itself, so it drains (npm would not forward the signal).
CMD ["node", "--import", "tsx", "src/main.ts", "gateway"]
