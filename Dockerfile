# The gateway image: every role (api, bridge, worker, sandbox) runs from it, chosen with --role.
FROM node:24-slim

WORKDIR /app

# Dev dependencies are installed too: the roles run TypeScript directly through tsx.
COPY package.json package-lock.json ./
RUN npm ci

COPY . .

# NODE_ENV is left to the caller (docker-compose.yml sets development): with NODE_ENV=production the
# development secrets that are the defaults are refused, so real secrets must be supplied alongside it.
EXPOSE 3000 3100
CMD ["node", "--import", "tsx", "src/main.ts"]
