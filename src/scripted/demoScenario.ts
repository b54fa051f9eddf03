/**
 * The demo's scripted conversations, for the sample repository in samples/demo-shop and the spec
 * in samples/demo-spec.txt. A newcomer
 * without a GPU runs `npm start` and watches a whole run: a plan of three tasks (two in parallel,
 * one after both), agents that read, write and test, a check that fails and is repaired, a
 * review, and the integration (and, in the Lead panel, a second round on the receipt task when the
 * developer requests changes). Nothing here is a model: every answer is written out below.
 */
import type { Scenario } from './scenario';
import { text, toolCall } from './scenario';

const PLAN = {
  tasks: [
    {
      id: 'discounts',
      title: 'Discount codes',
      instructions:
        'Create src/discounts.js exporting applyDiscount(totalCents, code). Codes: SAVE10 takes 10% off (rounded down to whole cents), FLAT500 takes 500 cents off but never below zero. An unknown code throws RangeError. No code returns the total unchanged.',
      acceptance: [
        'applyDiscount(1000, "SAVE10") === 900',
        'applyDiscount(300, "FLAT500") === 0',
        'an unknown code throws RangeError',
        'test/discounts.test.js covers these and npm test passes',
      ],
      files: ['src/discounts.js', 'test/discounts.test.js'],
      dependsOn: [],
    },
    {
      id: 'receipt',
      title: 'Receipt formatting',
      instructions:
        'Create src/receipt.js exporting formatReceipt(items, totalCents): one line per item "qty x name  price" with prices as dollars with two decimals, then a "Total: $x.yy" line.',
      acceptance: [
        'each item appears on its own line with its price in dollars',
        'the last line is "Total: $x.yy"',
        'test/receipt.test.js covers it and npm test passes',
      ],
      files: ['src/receipt.js', 'test/receipt.test.js'],
      dependsOn: [],
    },
    {
      id: 'checkout',
      title: 'Checkout using discounts and receipt',
      instructions:
        'Create src/checkout.js exporting checkout(items, code) that sums the cart with cartTotal, applies the discount code when given, and returns { total, receipt } where receipt is formatReceipt(items, total).',
      acceptance: [
        'checkout(items) returns the undiscounted total',
        'checkout(items, "SAVE10") returns the discounted total and a receipt ending in that total',
        'test/checkout.test.js covers it and npm test passes',
      ],
      files: ['src/checkout.js', 'test/checkout.test.js'],
      dependsOn: ['discounts', 'receipt'],
    },
  ],
};

const DISCOUNTS_JS = `'use strict';

const CODES = {
  SAVE10: (total) => Math.floor(total * 0.9),
  FLAT500: (total) => Math.max(0, total - 500),
};

/** The total after applying a discount code (none: unchanged). Unknown codes throw RangeError. */
function applyDiscount(totalCents, code) {
  if (code === undefined || code === null || code === '') return totalCents;
  const rule = CODES[code];
  if (!rule) throw new RangeError(\`unknown discount code: \${code}\`);
  return rule(totalCents);
}

module.exports = { applyDiscount };
`;

const DISCOUNTS_TEST = `'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { applyDiscount } = require('../src/discounts');

test('SAVE10 takes ten percent off', () => assert.equal(applyDiscount(1000, 'SAVE10'), 900));
test('FLAT500 never goes below zero', () => assert.equal(applyDiscount(300, 'FLAT500'), 0));
test('no code leaves the total alone', () => assert.equal(applyDiscount(1234), 1234));
test('unknown codes are refused', () => assert.throws(() => applyDiscount(100, 'FREE'), RangeError));
`;

const RECEIPT_JS = `'use strict';

const dollars = (cents) => \`$\${(cents / 100).toFixed(2)}\`;

/** One line per item, then the total. */
function formatReceipt(items, totalCents) {
  const lines = items.map((i) => \`\${i.qty} x \${i.name}  \${dollars(i.price * i.qty)}\`);
  lines.push(\`Total: \${dollars(totalCents)}\`);
  return lines.join('\\n');
}

module.exports = { formatReceipt };
`;

const RECEIPT_TEST = `'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { formatReceipt } = require('../src/receipt');

test('lists items and the total', () => {
  const text = formatReceipt([{ name: 'tea', price: 250, qty: 2 }], 500);
  assert.equal(text, '2 x tea  $5.00\\nTotal: $5.00');
});
`;

/** The first version has a bug (the discount is applied to nothing); the checks catch it. */
const CHECKOUT_BUGGY = `'use strict';
const { cartTotal } = require('./cart');
const { applyDiscount } = require('./discounts');
const { formatReceipt } = require('./receipt');

function checkout(items, code) {
  const total = applyDiscount(cartTotal(items));
  return { total, receipt: formatReceipt(items, total) };
}

module.exports = { checkout };
`;

const CHECKOUT_FIXED = CHECKOUT_BUGGY.replace(
  'applyDiscount(cartTotal(items))',
  'applyDiscount(cartTotal(items), code)',
);

const CHECKOUT_TEST = `'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { checkout } = require('../src/checkout');

const cart = [{ name: 'tea', price: 250, qty: 2 }, { name: 'cake', price: 500, qty: 1 }];

test('no code: the plain total', () => assert.equal(checkout(cart).total, 1000));
test('SAVE10: discounted total on the receipt', () => {
  const { total, receipt } = checkout(cart, 'SAVE10');
  assert.equal(total, 900);
  assert.match(receipt, /Total: \\$9\\.00$/);
});
`;

/** The demo: planner, three agents, and an approving reviewer. */
export const demoScenario: Scenario = {
  planner: [text(JSON.stringify(PLAN))],
  agents: {
    discounts: [
      toolCall('read_file', { path: 'AGENTS.md' }),
      toolCall('write_file', { path: 'src/discounts.js', content: DISCOUNTS_JS }),
      toolCall('write_file', { path: 'test/discounts.test.js', content: DISCOUNTS_TEST }),
      toolCall('run_command', { command: 'npm test --silent' }),
      toolCall('finish', { summary: 'Added applyDiscount with SAVE10 and FLAT500 and its tests; npm test passes.' }),
    ],
    receipt: [
      toolCall('list_dir', { path: 'src' }),
      toolCall('write_file', { path: 'src/receipt.js', content: RECEIPT_JS }),
      toolCall('write_file', { path: 'test/receipt.test.js', content: RECEIPT_TEST }),
      toolCall('run_command', { command: 'npm test --silent' }),
      toolCall('finish', { summary: 'Added formatReceipt and its test; npm test passes.' }),
      // Reached only when the developer requests changes on the task (the Lead panel's demo of
      // "Request changes"): the agent continues its conversation and exports the helper too.
      toolCall('edit_file', {
        path: 'src/receipt.js',
        old_text: 'module.exports = { formatReceipt };',
        new_text: 'module.exports = { formatReceipt, dollars };',
      }),
      toolCall('run_command', { command: 'npm test --silent' }),
      toolCall('finish', { summary: 'Also exported dollars() as asked; npm test passes.' }),
    ],
    checkout: [
      toolCall('read_file', { path: 'src/discounts.js' }),
      toolCall('write_file', { path: 'src/checkout.js', content: CHECKOUT_BUGGY }),
      toolCall('write_file', { path: 'test/checkout.test.js', content: CHECKOUT_TEST }),
      toolCall('finish', { summary: 'Added checkout and its tests.' }),
      // After the failed check Foreman sends the failure back; the agent repairs the call.
      toolCall('edit_file', {
        path: 'src/checkout.js',
        old_text: 'applyDiscount(cartTotal(items))',
        new_text: 'applyDiscount(cartTotal(items), code)',
      }),
      toolCall('run_command', { command: 'npm test --silent' }),
      toolCall('finish', { summary: 'Passed the discount code through to applyDiscount; npm test passes.' }),
    ],
  },
  reviewer: [text(JSON.stringify({ approved: true, comments: 'Meets the acceptance criteria.' }))],
};

/** Exported for tests that check the scripted repair really produces the fixed file. */
export const DEMO_FILES = { CHECKOUT_FIXED };
