#!/usr/bin/env node
// Checks the Zapier app the way Zapier's runtime would run it: the schema (zapier-platform-schema), our own
// rules on samples and output fields, then EVERY trigger, create and search and the auth test through
// zapier-platform-core's appTester against a live bridge. One line per check; exit 1 on any failure.
// The REST hook's target URL is a receiver this script serves on 127.0.0.1 (the bridge must be allowed
// to deliver to loopback: BRIDGE_ALLOW_PRIVATE_TARGETS).
//
// Environment:
//   BRIDGE_URL, BRIDGE_API_KEY, BRIDGE_CONNECTION_ID   the bridge, a key, an active connection (required)
//   BRIDGE_INVOICE_EXTERNAL_ID, BRIDGE_INVOICE_NUMBER  an open invoice already in the ledger: payments and
//                                                      credit notes apply to it, Find Invoice must find it
//   BRIDGE_CUSTOMER_EXTERNAL_ID, BRIDGE_CUSTOMER_EMAIL that invoice's customer: the credit note is theirs,
//                                                      Find Customer must find them
//   BRIDGE_CURRENCY                                    the connection's currency (USD)
//   REQUIRE_EVENTS                                     trigger keys that must return at least one event
//   ZAPIER_APP_JSON                                    check another definition than ./app.json
'use strict';

process.env.NODE_ENV = 'test'; // appTester's output checks (array, id, object) throw instead of logging

const crypto = require('crypto');
const http = require('http');

const zapier = require('zapier-platform-core');
const { validateAppDefinition } = require('zapier-platform-schema');
const { findSourceRequireFunctions } = require('zapier-platform-core/src/tools/schema-tools');

const definition = require(process.env.ZAPIER_APP_JSON || './app.json'); // another file: to prove checks fail
const App = findSourceRequireFunctions(JSON.parse(JSON.stringify(definition)));
const appTester = zapier.createAppTester(App);

const KINDS = ['triggers', 'creates', 'searches'];
const failures = [];

function report(ok, name, detail = '') {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? (ok ? ' -> ' : ': ') + detail : ''}`);
  if (!ok) failures.push(name);
}

async function check(name, body) {
  try {
    report(true, name, (await body()) || '');
  } catch (error) {
    report(false, name, error && error.message ? error.message : String(error));
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);

// ---------------------------------------------------------------------------------------------------
// Static checks: the schema, then what it does not check.

function resolves(sample, key) {
  // an output field key: nested with `__`, into the first item of a list with `[]`
  let values = [sample];
  for (const part of key.split('__')) {
    const [name, child] = part.split('[]');
    values = values.filter(isObject).filter((value) => name in value).map((value) => value[name]);
    if (child !== undefined) {
      values = values.flatMap((value) => (Array.isArray(value) ? value : [])).filter(isObject)
        .filter((value) => child in value).map((value) => value[child]);
    }
    if (!values.length) return false;
  }
  return true;
}

async function staticChecks() {
  const { errors } = validateAppDefinition(definition);
  report(errors.length === 0, 'schema validateAppDefinition',
    errors.length ? errors.map((e) => `${e.property} ${e.message}`).join('; ') : '0 errors');

  for (const kind of KINDS) {
    for (const [key, action] of Object.entries(definition[kind] || {})) {
      await check(`spec ${kind}.${key}`, async () => {
        const { operation } = action;
        assert(action.key === key, `key ${action.key} differs from its name ${key}`);
        assert(isObject(operation.sample) && Object.keys(operation.sample).length, 'no sample');
        if (kind === 'triggers') assert(operation.sample.id, 'trigger sample has no id');
        assert(Array.isArray(operation.outputFields) && operation.outputFields.length, 'no outputFields');
        const keys = operation.outputFields.map((field) => field.key);
        const unresolved = keys.filter((k) => !resolves(operation.sample, k));
        assert(!unresolved.length, `outputFields not in the sample: ${unresolved.join(', ')}`);
        const uncovered = Object.keys(operation.sample).filter((k) => !keys.some(
          (f) => f === k || f.startsWith(`${k}__`) || f.startsWith(`${k}[]`)));
        assert(!uncovered.length, `sample fields without an output field: ${uncovered.join(', ')}`);
        const inputs = operation.inputFields || [];
        for (const field of inputs.flatMap((f) => [f, ...(f.children || [])])) {
          if (field.dynamic) {
            const [trigger, id, labels] = field.dynamic.split('.');
            const source = (definition.triggers || {})[trigger];
            assert(source, `${field.key}: dynamic trigger ${trigger} does not exist`);
            for (const name of [id, ...(labels || '').split(',').filter(Boolean)]) {
              assert(name in source.operation.sample, `${field.key}: ${trigger} has no ${name}`);
            }
          }
          for (const other of field.dependsOn || []) {
            assert(inputs.some((f) => f.key === other), `${field.key} depends on unknown ${other}`);
          }
        }
        return `${keys.length} output fields`;
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Live checks: every operation through appTester.

const env = (name, fallback) => {
  const value = process.env[name] || fallback;
  if (value === undefined) throw new Error(`set ${name}`);
  return value;
};

let authData, connectionId, currency, requiredEvents; // read from the environment by liveChecks
const run = Date.now().toString(36); // unique external ids per run
const op = (kind, key) => App[kind][key].operation;

function sameShape(sample, live, path = '') {
  // the live object has no field the sample lacks, and lacks none the sample has a value for (nested
  // objects too, and the items of lists against the sample's first item)
  const problems = [];
  for (const key of Object.keys(live)) {
    const [mine, theirs] = [sample[key], live[key]];
    if (!(key in sample)) problems.push(`unexpected ${path}${key}`);
    else if (isObject(mine) && isObject(theirs)) problems.push(...sameShape(mine, theirs, `${path}${key}.`));
    else if (Array.isArray(mine) && isObject(mine[0]) && Array.isArray(theirs)) {
      theirs.filter(isObject).forEach((item) => problems.push(...sameShape(mine[0], item, `${path}${key}[].`)));
    }
  }
  for (const key of Object.keys(sample)) {
    if (!(key in live) && sample[key] !== null) problems.push(`missing ${path}${key}`);
  }
  return problems;
}

function matchesSample(kind, key, results) {
  const sample = definition[kind][key].operation.sample;
  for (const result of results) {
    const problems = [...new Set(sameShape(sample, result))];
    assert(!problems.length, `the sample does not match what the bridge returns: ${problems.join(', ')}`);
  }
}

async function trigger(key, inputData, { required = requiredEvents.has(key) } = {}) {
  const results = await appTester(op('triggers', key).perform, { authData, inputData });
  assert(Array.isArray(results), 'not an array');
  matchesSample('triggers', key, results);
  if (required) assert(results.length > 0, 'no results');
  return results;
}

function startReceiver() {
  // Zapier's side of a REST hook: a target URL on loopback that records what the bridge POSTs to it
  const deliveries = [];
  const server = http.createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body = null;
      try { body = JSON.parse(raw); } catch (error) { body = null; }
      deliveries.push({ headers: request.headers, raw, body });
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.end('{"status":"success"}');
    });
  });
  const next = async (wanted, timeoutMs = 30000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = deliveries.find((delivery) => delivery.body && wanted(delivery.body));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no delivery came to the target URL in ${timeoutMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    server, next, url: `http://127.0.0.1:${server.address().port}/hooks/standard/1/zapier-check/`,
  })));
}

function verifySignature(delivery, secret) {
  // Bridge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
  const { headers, raw, body } = delivery;
  assert(secret, 'the subscription answered no secret');
  assert(headers['bridge-event-id'] === body.id && headers['bridge-event'] === body.event, 'event headers');
  const parts = Object.fromEntries(String(headers['bridge-signature'] || '').split(',').map((p) => p.split('=')));
  assert(parts.t && parts.t === headers['bridge-timestamp'], 'Bridge-Signature t= is not Bridge-Timestamp');
  const expected = crypto.createHmac('sha256', secret).update(`${parts.t}.${raw}`).digest('hex');
  assert(parts.v1 === expected, 'Bridge-Signature v1= does not verify with the subscription secret');
  return 'signature verified';
}

async function liveChecks() {
  authData = { base_url: env('BRIDGE_URL'), api_key: env('BRIDGE_API_KEY') };
  connectionId = env('BRIDGE_CONNECTION_ID');
  currency = env('BRIDGE_CURRENCY', 'USD');
  requiredEvents = new Set(env('REQUIRE_EVENTS', '').split(',').filter(Boolean));
  await check('auth test', async () => {
    const me = await appTester(App.authentication.test, { authData });
    assert(me.account_name, 'no account_name for the connection label');
    return me.account_name;
  });
  await check('auth test with a trailing slash in the Bridge URL', async () => {
    await appTester(App.authentication.test, { authData: { ...authData, base_url: `${authData.base_url}/` } });
  });
  await check('auth test with a bad key asks to reconnect', async () => {
    const refused = await appTester(App.authentication.test, { authData: { ...authData, api_key: 'wrong' } })
      .then(() => null, (error) => error);
    assert(refused && refused.name === 'ExpiredAuthError', `expected ExpiredAuthError, got ${refused && refused.name}`);
  });

  // Dropdowns: their values feed the creates below, as a user's picks would.
  const picked = {};
  await check('trigger connections (dropdown)', async () => {
    const connections = await trigger('connections', {}, { required: true });
    assert(connections.some((c) => c.id === connectionId), `${connectionId} not listed`);
    return `${connections.length} connection(s)`;
  });
  for (const key of ['accounts', 'products', 'tax_categories']) {
    await check(`trigger ${key} (dropdown)`, async () => {
      const rows = await trigger(key, { connection_id: connectionId });
      picked[key] = rows.length ? rows[0].id : undefined;
      return `${rows.length} choice(s)`;
    });
  }

  for (const key of ['new_invoice', 'payment_received', 'sync_failed', 'connection_needs_reauth']) {
    await check(`trigger ${key}`, async () => {
      const all = await trigger(key, {}); // no connection chosen: every connection's events
      const mine = await trigger(key, { connection_id: connectionId }, { required: false });
      assert(mine.every((event) => event.connection_id === connectionId), 'the connection filter let others through');
      assert(mine.length === all.filter((event) => event.connection_id === connectionId).length, 'events missing');
      return `${all.length} event(s), ${mine.length} of this connection`;
    });
  }

  const invoiceId = process.env.BRIDGE_INVOICE_EXTERNAL_ID;
  const line = (description, quantity, unitPrice) => ({
    description, quantity, unit_price: unitPrice, product_code: picked.products,
    tax_category: picked.tax_categories, discount_percent: '',
  });
  const customer = { customer_external_id: `zap-cus-${run}`, customer_name: `Zapier Check ${run}`, customer_email: '' };
  const creates = {
    upsert_invoice: {
      external_id: `zap-inv-${run}`, number: `ZAP-${run}`, ...customer, currency,
      issue_date: '2026-01-15T00:00:00-05:00', due_date: '2026-02-14', status: 'open', memo: '',
      lines: [line('Consulting', '2', '100.00'), { ...line('Support', 1, '40.10'), account_code: picked.accounts }],
    },
    sync_paid_invoice: {
      external_id: `zap-paid-${run}`, number: `ZAP-PAID-${run}`, ...customer, currency,
      issue_date: '2026-01-16', lines: [line('Consulting', '1', '50.00')],
      payment_external_id: `zap-paid-pay-${run}`, payment_amount: '50.00', payment_date: '2026-01-20T10:00:00Z',
      payment_method: 'Card', payment_reference: `ch_${run}`,
    },
    record_payment: {
      external_id: `zap-pay-${run}`, invoice_external_id: invoiceId || `zap-inv-${run}`, amount: '10.00',
      date: '2026-01-21', reference: `ref-${run}`,
    },
    create_credit_note: {
      external_id: `zap-cn-${run}`, number: `ZAP-CN-${run}`, ...customer, currency, issue_date: '2026-01-22',
      ...(process.env.BRIDGE_CUSTOMER_EXTERNAL_ID  // a customer the ledger has: no name needed
        ? { customer_external_id: process.env.BRIDGE_CUSTOMER_EXTERNAL_ID, customer_name: '' } : {}),
      lines: [line('Refund', '1', '5.00')],
      ...(invoiceId ? { allocation_invoice_external_id: invoiceId, allocation_amount: '5.00' } : {}),
    },
    upsert_customer: {
      external_id: `zap-cus2-${run}`, name: `Zapier Customer ${run}`, email: `zap-${run}@example.com`,
      address_line1: '1 Main St', address_city: 'Springfield', address_country: 'US', phone: '',
    },
  };
  const create = (key) => check(`create ${key}`, async () => {
    const operation = await appTester(op('creates', key).perform, {
      authData, inputData: { connection_id: connectionId, ...creates[key] },
    });
    matchesSample('creates', key, [operation]);
    assert(operation.id && operation.connection_id === connectionId, 'not an operation of this connection');
    return [operation.id, ...(operation.related || []).map((r) => r.id)].join(' ');
  });

  // The instant trigger as Zapier runs it: subscribe with a target URL, an invoice paid while subscribed is
  // POSTed there (signed), perform turns that request into the Zap's run; the sample list; unsubscribe.
  const receiver = await startReceiver();
  await check('trigger new_paid_invoice (REST hook)', async () => {
    const hook = op('triggers', 'new_paid_invoice');
    const inputData = { connection_id: connectionId };
    const subscribeData = await appTester(hook.performSubscribe, { authData, inputData, targetUrl: receiver.url });
    assert(subscribeData.id && subscribeData.target_url === receiver.url, `subscribe answered ${JSON.stringify(subscribeData)}`);
    assert(subscribeData.event === 'invoice.paid' && subscribeData.connection_id === connectionId, 'wrong subscription');
    const listed = await appTester(hook.performList, { authData, inputData });
    assert(Array.isArray(listed), 'performList is not an array');
    matchesSample('triggers', 'new_paid_invoice', listed);
    if (requiredEvents.has('new_paid_invoice')) assert(listed.length > 0, 'performList: no paid invoices');

    await create('sync_paid_invoice'); // paid in one step: its invoice.paid comes to the target URL
    const paidId = creates.sync_paid_invoice.external_id;
    const delivery = await receiver.next((body) => body.event === 'invoice.paid' && body.data.external_id === paidId);
    const signature = verifySignature(delivery, subscribeData.secret);
    const runs = await appTester(hook.perform, {
      authData, inputData, subscribeData, cleanedRequest: delivery.body,
      rawRequest: { headers: delivery.headers, content: delivery.raw },
    });
    assert(runs.length === 1 && runs[0].id === delivery.body.id, 'perform does not return the delivered event');
    matchesSample('triggers', 'new_paid_invoice', runs);

    await appTester(hook.performUnsubscribe, { authData, inputData, subscribeData });
    const again = await appTester(hook.performUnsubscribe, { authData, inputData, subscribeData })
      .then(() => null, (error) => error);
    assert(again && /404|not found/i.test(again.message), 'the hook is still there after unsubscribing');
    return `${subscribeData.id}: ${listed.length} listed, ${delivery.body.id} delivered (${signature}), unsubscribed`;
  });
  receiver.server.close();

  for (const key of Object.keys(creates).filter((key) => key !== 'sync_paid_invoice')) await create(key);

  await check('search find_invoice', async () => {
    const number = process.env.BRIDGE_INVOICE_NUMBER || `ZAP-${run}`;
    const found = await appTester(op('searches', 'find_invoice').perform, {
      authData, inputData: { connection_id: connectionId, number },
    });
    assert(Array.isArray(found), 'not an array');
    matchesSample('searches', 'find_invoice', found);
    if (process.env.BRIDGE_INVOICE_NUMBER) assert(found.length && found[0].number === number, `${number} not found`);
    return `${found.length} found`;
  });
  await check('search find_customer', async () => {
    const email = process.env.BRIDGE_CUSTOMER_EMAIL || `zap-${run}@example.com`;
    const found = await appTester(op('searches', 'find_customer').perform, {
      authData, inputData: { connection_id: connectionId, email, name: '' },
    });
    assert(Array.isArray(found), 'not an array');
    matchesSample('searches', 'find_customer', found);
    if (process.env.BRIDGE_CUSTOMER_EMAIL) assert(found.length && found[0].email === email, `${email} not found`);
    return `${found.length} found`;
  });
}

(async () => {
  await staticChecks();
  await liveChecks();
  console.log(failures.length ? `${failures.length} check(s) failed` : 'all checks passed');
  process.exit(failures.length ? 1 : 0);
})().catch((error) => {
  console.log(`FAIL ${error.message}`);
  process.exit(2);
});
