/**
 * Feeding bytes to a protocol the way Twisted's protocol tests do (test_basic.py): latin1
 * strings as bytes, data in pieces of a given size, or byte by byte (iterbytes).
 */

/** A latin1 string as bytes. */
export const b = (s: string): Buffer => Buffer.from(s, "latin1");
/** Buffers as latin1 strings. */
export const strs = (bufs: Buffer[]): string[] => bufs.map((x) => x.toString("latin1"));

/** Feed `data` to `receive` in pieces of `size` bytes, as Twisted's tests do. */
export function feed(data: Buffer, size: number, receive: (chunk: Buffer) => unknown): void {
  for (let i = 0; i < Math.floor(data.length / size) + 1; i++) {
    const chunk = data.subarray(i * size, (i + 1) * size);
    receive(chunk);
  }
}

/** Each byte separately, as Twisted's iterbytes. */
export function byteByByte(data: Buffer, receive: (chunk: Buffer) => unknown): void {
  for (let i = 0; i < data.length; i++) receive(data.subarray(i, i + 1));
}
