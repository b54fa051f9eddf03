'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { cartTotal } = require('../src/cart');

test('sums price times quantity', () => {
  assert.equal(cartTotal([{ name: 'tea', price: 250, qty: 2 }, { name: 'cake', price: 300, qty: 1 }]), 800);
});

test('rejects a negative price', () => {
  assert.throws(() => cartTotal([{ name: 'x', price: -1, qty: 1 }]), RangeError);
});
