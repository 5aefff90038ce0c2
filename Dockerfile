# Piper's image: `piper up` by default; any role or command by its arguments
# (`docker run IMAGE storage serve`, `… queue serve`, `… backup create`).
# Node 24 as package.json's engines says; TypeScript runs by type stripping, so nothing is built.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only: the `node` devDependency is not needed where Node 24 is the base.
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    NODE_COMPILE_CACHE=/tmp/node-compile-cache \
    PIPER_DATA=/data \
    PIPER_HOST=0.0.0.0 \
    PIPER_PORT=8080
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
# The dashboard's own files (its libraries are packages in node_modules).
COPY ui ./ui
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["node", "--max-semi-space-size=1", "bin/piper.js"]
CMD ["up"]
