'use strict';

/** Sum of price * qty over the items, in cents. */
function cartTotal(items) {
  let total = 0;
  for (const item of items) {
    if (!Number.isInteger(item.price) || item.price < 0) throw new RangeError(`bad price for ${item.name}`);
    total += item.price * item.qty;
  }
  return total;
}

module.exports = { cartTotal };
