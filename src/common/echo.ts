// Untrusted values quoted back in statuses and logs, bounded: a 4 MiB
// type_url or file_path must not become a 4 MiB grpc-message (clients then
// fail with "metadata size exceeds limit") nor a 4 MiB log line.

/** Most UTF-8 bytes of one untrusted value shown in a message. */
export const ECHO_MAX_BYTES = 128;

/** Most UTF-8 bytes of a whole status message (several echoed values and the text around them). */
export const DETAILS_MAX_BYTES = 1024;

/**
 * `text` cut to at most `maxBytes` UTF-8 bytes (never inside a character);
 * `cut` is true when something was left off.
 */
function head(text: string, maxBytes: number): { shown: string; bytes: number; cut: boolean } {
  const bytes = Buffer.byteLength(text);
  if (bytes <= maxBytes) return { shown: text, bytes, cut: false };
  const buf = Buffer.from(text.slice(0, maxBytes)); // at most 3 bytes per UTF-16 unit: enough to fill maxBytes
  let end = Math.min(maxBytes, buf.length);
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--; // back to a character boundary
  return { shown: buf.toString('utf8', 0, end), bytes, cut: true };
}

/**
 * An untrusted value as a message shows it: JSON-quoted (control characters
 * and NUL escaped), and past ECHO_MAX_BYTES cut, followed by how long it was:
 * `"aaaa"… (4194304 bytes, first 128 shown)`.
 */
export function quoted(value: string, maxBytes = ECHO_MAX_BYTES): string {
  const { shown, bytes, cut } = head(value, maxBytes);
  return cut ? `${JSON.stringify(shown)}… (${bytes} bytes, first ${maxBytes} shown)` : JSON.stringify(shown);
}

/** A whole message bounded to `maxBytes`, saying how long it was when cut. */
export function bounded(message: string, maxBytes = DETAILS_MAX_BYTES): string {
  const { shown, bytes, cut } = head(message, maxBytes);
  return cut ? `${shown}… (${bytes} bytes, first ${maxBytes} shown)` : shown;
}
