# The gateway image: every role (api, bridge, worker, sandbox) runs from it, chosen with --role.

# Build: TypeScript compiled to dist/ with every dependency present.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Run: production dependencies and the compiled code only, as the image's unprivileged user.
FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY migrations ./migrations
COPY examples ./examples
USER node
# NODE_ENV=production refuses the development secrets that are the defaults: real secrets are supplied alongside it
# (docker-compose.yml sets development for a local try).
EXPOSE 3000 3100 9464
CMD ["node", "dist/main.js"]
