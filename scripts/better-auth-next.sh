#!/usr/bin/env bash
# Runs the suites that depend on Better Auth against the newest published better-auth 1.7.x,
# for a maintainer when Better Auth releases: it is installed beside the locked one as the npm
# alias `better-auth-next`, without touching package.json or the lockfile (`npm ci` removes it).
# Usage: npm run test:better-auth-next [-- <vitest arguments>]
set -euo pipefail
cd "$(dirname "$0")/.."
version="${BETTER_AUTH_RANGE:-^1.7.0}"
npm install --no-save --no-audit --no-fund "better-auth-next@npm:better-auth@${version}" >&2
echo "better-auth-next: $(node -p 'require("./node_modules/better-auth-next/package.json").version')" >&2
FUSION_AUTH_BETTER_AUTH_NEXT=better-auth-next exec vitest run --project 'better-auth next*' "$@"
