// Placeholder entry so the build runs while the webview is written; replaced by the panel's code.
export {};
