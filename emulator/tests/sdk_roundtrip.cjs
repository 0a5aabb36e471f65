// Round trip of Cloudflare's official TypeScript SDK (npm `cloudflare`, 7.x) against csr-emulator.
//
// Usage: NODE_PATH=.ci/node/node_modules node sdk_roundtrip.cjs BASE_URL
//        (BASE_URL e.g. http://127.0.0.1:8787/client/v4)
//
// Uses `client.customCsrs` as the SDK's users do: create (both key types), get, list with
// auto-pagination over several pages, delete, and a get after delete that must raise
// NotFoundError; in account and zone scope; once with an API token against BASE_URL and once
// with email + API key against the root URL, the way the SDK's own tests use
// TEST_API_BASE_URL. Retries are off so that a wrong answer is never hidden by a second try.
// Exits non-zero with a message on the first mismatch.

'use strict';

const Cloudflare = require('cloudflare').default;
const { NotFoundError, PermissionDeniedError } = require('cloudflare');

const TOKEN = 'Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY';
const EMAIL = 'user@example.com';
const API_KEY = '144c9defac04969c7bfad8efaa8ea194';
const ACCOUNT_ID = 'account_id'; // the literal id the SDK test suites use
const ZONE_ID = '023e105f4ecef8ad9ca31a8372d0c353';
const CREATES = 7; // with per_page=5: a full page, a partial one, then the empty one that ends it
const PER_PAGE = 5;

function check(cond, what) {
  if (!cond) throw new Error(what);
}

function sameObject(a, b) {
  const keys = (o) => Object.keys(o).sort();
  return JSON.stringify(keys(a)) === JSON.stringify(keys(b))
    && keys(a).every((k) => JSON.stringify(a[k]) === JSON.stringify(b[k]));
}

async function roundTrip(client, scope) {
  const where = scope === 'account' ? { account_id: ACCOUNT_ID } : { zone_id: ZONE_ID };
  const created = [];
  for (let i = 0; i < CREATES; i++) {
    const keyType = i === 0 ? 'rsa2048' : 'p256v1';
    const extra = scope === 'account' ? { name: `csr ${i}`, description: 'sdk round trip' } : {};
    const obj = await client.customCsrs.create({
      ...where,
      common_name: `ts${i}.cloudflare-demo.com`,
      country: 'US',
      state: 'California',
      locality: 'San Francisco',
      organization: 'Cloudflare-Demo',
      organizational_unit: 'QA',
      sans: [`ts${i}.cloudflare-demo.com`, `www.ts${i}.cloudflare-demo.com`],
      key_type: keyType,
      ...extra,
    });
    check(obj && obj.id, `${scope}: create returned no object`);
    check(obj.key_type === keyType, `${scope}: key_type ${obj.key_type}`);
    check(obj.common_name === `ts${i}.cloudflare-demo.com`, `${scope}: common_name ${obj.common_name}`);
    check(typeof obj.csr === 'string' && obj.csr.startsWith('-----BEGIN CERTIFICATE REQUEST-----'),
      `${scope}: csr is not a PEM certificate request`);
    if (scope === 'account') {
      check(obj.account_tag === ACCOUNT_ID, `account_tag ${obj.account_tag}`);
      check(obj.name === `csr ${i}`, `name ${obj.name}`);
    } else {
      check(obj.account_tag === undefined && obj.name === undefined, 'zone object has account fields');
    }
    created.push(obj);
  }

  for (const obj of created) {
    const got = await client.customCsrs.get(obj.id, where);
    check(sameObject(got, obj), `${scope}: get ${obj.id} differs from create`);
  }

  // Auto-pagination: the page objects, and item by item.
  const pages = [];
  for await (const page of (await client.customCsrs.list({ ...where, per_page: PER_PAGE })).iterPages()) {
    pages.push(page);
  }
  const listed = pages.flatMap((p) => p.result.map((o) => o.id));
  check(pages.length >= 2, `${scope}: auto-pagination walked ${pages.length} page(s)`);
  check(
    JSON.stringify([...listed].sort()) === JSON.stringify(created.map((o) => o.id).sort()),
    `${scope}: listed ${listed.length} ids, created ${created.length}`,
  );
  check(new Set(listed).size === listed.length, `${scope}: a CSR was listed twice`);
  const iterated = [];
  for await (const item of client.customCsrs.list({ ...where, per_page: PER_PAGE })) iterated.push(item.id);
  check(JSON.stringify(iterated) === JSON.stringify(listed), `${scope}: auto-iteration differs`);

  for (const obj of created) {
    const deleted = await client.customCsrs.delete(obj.id, where);
    check(deleted && deleted.id === obj.id, `${scope}: delete ${obj.id}`);
    try {
      await client.customCsrs.get(obj.id, where);
    } catch (e) {
      check(e instanceof NotFoundError, `${scope}: get after delete raised ${e && e.constructor.name}: ${e}`);
      check(e.status === 404, `status ${e.status}`);
      continue;
    }
    throw new Error(`${scope}: deleted CSR ${obj.id} still found`);
  }
  const left = [];
  for await (const item of client.customCsrs.list(where)) left.push(item.id);
  check(left.length === 0, `${scope}: list not empty after deletes`);
  console.log(`ok: ${scope} scope, ${created.length} CSRs, ${pages.length} pages`);
}

async function main() {
  const base = process.argv[2] || 'http://127.0.0.1:8787/client/v4';
  const root = base.endsWith('/client/v4') ? base.slice(0, -'/client/v4'.length) : base;
  const clients = [
    new Cloudflare({ baseURL: base, apiToken: TOKEN, maxRetries: 0 }),
    new Cloudflare({ baseURL: root, apiEmail: EMAIL, apiKey: API_KEY, maxRetries: 0 }),
  ];
  for (const client of clients) {
    for (const scope of ['account', 'zone']) await roundTrip(client, scope);
  }
  try {
    await new Cloudflare({ baseURL: base, apiToken: 'wrong', maxRetries: 0 }).customCsrs.list({ zone_id: ZONE_ID });
  } catch (e) {
    check(e instanceof PermissionDeniedError, `a wrong token raised ${e && e.constructor.name}`);
    console.log(`sdk round trip passed (cloudflare ${require('cloudflare/version').VERSION})`);
    return;
  }
  throw new Error('a wrong token was accepted');
}

main().catch((e) => {
  console.error(`FAILED: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
