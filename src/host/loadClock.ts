/**
 * When the extension bundle began to run. extension.ts imports this module first, and a bundle
 * evaluates its modules in import order, so this is the first line of Foreman's code to run on
 * activation; the activation figure is measured from here. (Parsing the bundle, which happens
 * before any of its code runs, is not included: measure that from outside, with the bundle's size.)
 */
export const bundleStartedAt = performance.now();
