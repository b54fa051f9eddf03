/** A settings problem a person must fix (the CLI answers it with exit code 2 and its message). */
export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}
