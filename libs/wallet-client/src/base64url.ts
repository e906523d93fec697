/**
 * base64url without padding (RFC 7515 §2) over `btoa`/`atob`, which browsers
 * and Node 20 both have, so the library needs no `Buffer`.
 */

const encoder = new TextEncoder();

/** base64url of bytes. */
export function base64urlEncode(bytes: Uint8Array): string {
  // btoa takes a "binary string": one char per byte. Chunked so a long input
  // does not overflow the argument list of String.fromCharCode.
  let binary = '';
  for (let offset = 0; offset < bytes.length; offset += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(offset, offset + 0x8000));
  }
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** base64url of a string's UTF-8 bytes. */
export function base64urlEncodeText(text: string): string {
  return base64urlEncode(encoder.encode(text));
}

/** Bytes of a base64url string; throws on characters outside the alphabet. */
export function base64urlDecode(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new TypeError('not base64url');
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * UTF-8 bytes of a string, in a buffer of its own: WebCrypto's DOM typings
 * (TS 5.7+) take only views of a plain `ArrayBuffer`, which `encode` does
 * not promise; the return type is left to inference for the same reason.
 */
export function utf8(text: string) {
  return new Uint8Array(encoder.encode(text));
}
