# One image for api, worker and simulator (see docker-compose.yml).
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run generate && npm run build
ENV BULKSMS_USE_DIST=1
ENTRYPOINT ["node", "bin/bulksms.js"]
CMD ["--help"]
