# One image for api, worker and simulator (see docker-compose.yml).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
# With dev dependencies: the build needs them (prisma generate, tsc). NODE_ENV=production before this line made
# npm omit them, and the image did not build.
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run generate && npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund
# The compiled dist/ runs; migrations, bin/ and the dashboard's files are read from the project root.
ENV NODE_ENV=production BULKSMS_USE_DIST=1
# Not root: a flaw in a dependency that parses uploads or provider answers then cannot rewrite the image or reach
# what root can. The volumes' mount points exist here, owned by `node`, so fresh named volumes take that owner
# (the reports and archive written at run time); the code itself stays root-owned and read-only to the process.
RUN mkdir -p /app/reports /app/archive && chown node:node /app/reports /app/archive
USER node
ENTRYPOINT ["node", "bin/bulksms.js"]
CMD ["--help"]
