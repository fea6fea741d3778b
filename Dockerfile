# The gateway image. Stage 1 compiles the TypeScript (npm run build); the image runs the compiled
# JavaScript, which starts faster and uses less memory than running the sources through tsx.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm ci applies patches/ (postinstall: patch-package, a devDependency).
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY scripts ./scripts
COPY schemas ./schemas
COPY adapters ./adapters
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# gatewayEnvironment in bin/launcher.js (compiled-build.test.ts keeps the two the same).
ENV MALLOC_ARENA_MAX=2
COPY package.json package-lock.json ./
# The production dependencies as the build stage patched them (patches/README.md).
COPY --from=build /app/node_modules ./node_modules
# The compiled code only: with no sources beside it, bin/launcher.js always runs dist/.
COPY bin ./bin
COPY --from=build /app/dist ./dist
# A named volume mounted here takes this directory's owner, so the node user can write the spool.
RUN mkdir -p /var/lib/vitalbridge/spool && chown -R node:node /var/lib/vitalbridge
USER node
EXPOSE 2575 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.HTTP_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# The node flags are gatewayNodeFlags in bin/launcher.js, as in `npm start` (a test keeps the three the same).
ENTRYPOINT ["node", "--max-semi-space-size=8", "--heap-growing-percent=100", "bin/vitalbridge.js"]
CMD ["start"]
