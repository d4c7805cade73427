// A real OpenID Connect provider for the console's sign-in tests: panva's certified
// oidc-provider (npm), installed by tests/api/test_oidc_signin.py into .cache/oidc.
// Usage: node provider.mjs PORT REDIRECT_URI
// One public client (PKCE S256 required) and accounts whose claims carry Navet's roles and
// tenants. Its development login form accepts any password; the account is the login name.
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.OIDC_MODULES, "noop.js"));
const Provider = require("oidc-provider").default ?? require("oidc-provider");

const [port, redirectUri] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const ACCOUNTS = {
  "anna.operator": { name: "Anna Operatör", navet_roles: ["operator"], navet_tenants: ["vasteras"] },
  "no.roles": { name: "Utan Roll", navet_roles: [], navet_tenants: ["vasteras"] },
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: "navet-console",
    token_endpoint_auth_method: "none",
    redirect_uris: [redirectUri],
    grant_types: ["authorization_code"],
    response_types: ["code"],
  }],
  pkce: { required: () => true, methods: ["S256"] },
  scopes: ["openid", "profile", "navet"],
  claims: { openid: ["sub"], profile: ["name"], navet: ["navet_roles", "navet_tenants"] },
  conformIdTokenClaims: false, // the scope's claims go into the ID token itself
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    const account = ACCOUNTS[id];
    if (!account) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...account }; } };
  },
  // consent for the one first-party client is given without asking
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope("openid profile navet");
    await grant.save();
    return grant;
  },
});
provider.proxy = false;
provider.listen(Number(port), "127.0.0.1", () => {
  console.log(`oidc-provider listening at ${issuer}`);
});
