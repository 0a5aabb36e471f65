// The calls Cloudflare's generated TypeScript SDK tests make for Custom CSRs, made here through
// the official SDK (7.x) the same way, against csr-emulator.
//
// Usage: NODE_PATH=.ci/node/node_modules node sdk_suite_calls.cjs BASE_URL [--faithful]
//
// Like the generated tests: email + key on the root URL, the spec's example create body (SANs
// under example.com), a list, then delete and get of the spec's example id, each through the
// promise, `.asResponse()` and `.withResponse()`. With `--sdk-suite` the emulator must answer
// them all; with --faithful (no profile) each must get the real API's error instead.

'use strict';

const Cloudflare = require('cloudflare').default;
const { BadRequestError, NotFoundError } = require('cloudflare');

const EXAMPLE_ID = '7b163417-1d2b-4c84-a38a-2fb7a0cd7752';
const REQUIRED = {
  common_name: 'example.com',
  country: 'US',
  locality: 'San Francisco',
  organization: 'Cloudflare, Inc.',
  sans: ['example.com', 'www.example.com'],
  state: 'California',
  account_id: 'account_id',
};
const OPTIONAL = {
  description: 'CSR for example.com wildcard',
  key_type: 'rsa2048',
  name: 'My Custom CSR',
  organizational_unit: 'Engineering',
};

function check(cond, what) {
  if (!cond) throw new Error(what);
}

async function threeWays(name, makePromise) {
  const promise = makePromise();
  const raw = await promise.asResponse();
  check(raw.status >= 200 && raw.status < 300, `${name}: status ${raw.status}`);
  const parsed = await promise;
  const both = await promise.withResponse();
  check(both.data === parsed && both.response === raw, `${name}: withResponse differs`);
  return parsed;
}

async function profile(client) {
  const created = await threeWays('create', () => client.customCsrs.create(REQUIRED));
  check(created.common_name === 'example.com' && created.sans.length === 2, 'create');
  const full = await client.customCsrs.create({ ...REQUIRED, ...OPTIONAL });
  check(full.name === 'My Custom CSR' && full.key_type === 'rsa2048', 'create with all params');
  const page = await threeWays('list', () => client.customCsrs.list({ account_id: 'account_id' }));
  check(page.result.some((o) => o.id === EXAMPLE_ID), 'list: the example CSR is not listed');
  const deleted = await threeWays('delete', () =>
    client.customCsrs.delete(EXAMPLE_ID, { account_id: 'account_id' }));
  check(deleted.id === EXAMPLE_ID, 'delete');
  const got = await threeWays('get', () => client.customCsrs.get(EXAMPLE_ID, { account_id: 'account_id' }));
  check(got.id === EXAMPLE_ID && got.csr.startsWith('-----BEGIN CERTIFICATE REQUEST-----'), 'get');
}

async function refused(name, makePromise, errorClass, code) {
  try {
    await makePromise();
  } catch (e) {
    check(e instanceof errorClass, `${name}: raised ${e && e.constructor.name}: ${e}`);
    if (code) {
      const codes = (e.error && e.error.errors || []).map((x) => x.code);
      check(codes.includes(code), `${name}: codes ${codes}`);
    }
    return;
  }
  throw new Error(`${name}: accepted, but the real API refuses it`);
}

async function faithful(client) {
  await refused('create', () => client.customCsrs.create(REQUIRED), BadRequestError, 1416);
  await refused('create with all params', () => client.customCsrs.create({ ...REQUIRED, ...OPTIONAL }),
    BadRequestError, 1416);
  await refused('delete', () => client.customCsrs.delete(EXAMPLE_ID, { account_id: 'account_id' }),
    NotFoundError);
  await refused('get', () => client.customCsrs.get(EXAMPLE_ID, { account_id: 'account_id' }), NotFoundError);
}

async function main() {
  const base = process.argv[2];
  const isFaithful = process.argv.slice(3).includes('--faithful');
  const root = base.endsWith('/client/v4') ? base.slice(0, -'/client/v4'.length) : base;
  const client = new Cloudflare({
    apiKey: '144c9defac04969c7bfad8efaa8ea194',
    apiEmail: 'user@example.com',
    baseURL: root,
    maxRetries: 0,
  });
  await (isFaithful ? faithful(client) : profile(client));
  console.log('ok: generated call patterns');
  console.log(`sdk suite calls passed (${isFaithful ? 'faithful errors' : 'sdk-suite profile'})`);
}

main().catch((e) => {
  console.error(`FAILED: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
