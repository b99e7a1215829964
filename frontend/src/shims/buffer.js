// A small stand-in for node's Buffer, for the Wallet Selector bundle only.
//
// The wallet modules (and the older @near-js copies they pull in) were written for
// bundlers that polyfill node's `buffer`; they call Buffer.from(...).toString("base64"),
// Buffer.concat, Buffer.alloc and borsh's read/write helpers. The npm package `buffer`
// (feross/buffer) is the usual polyfill but is not among frontend/'s dependencies, so this
// covers the part of its API those modules call: a Uint8Array subclass with node's
// encodings (utf8, hex, base64, base64url, latin1/binary, ascii), slicing that shares
// memory, comparison and the little-endian integer readers and writers. Anything else
// throws rather than guess. Replace it with `buffer` if that package is ever vendored.

const ENCODINGS = ["utf8", "utf-8", "hex", "base64", "base64url", "latin1", "binary", "ascii"];

function normalise(encoding) {
  const name = String(encoding || "utf8").toLowerCase();
  if (!ENCODINGS.includes(name)) throw new TypeError(`Unknown encoding: ${encoding}`);
  if (name === "utf-8") return "utf8";
  if (name === "binary") return "latin1";
  return name;
}

function bytesOfString(text, encoding) {
  switch (normalise(encoding)) {
    case "utf8":
      return new TextEncoder().encode(text);
    case "hex": {
      const clean = text.length % 2 ? text.slice(0, -1) : text;
      const out = new Uint8Array(clean.length / 2);
      for (let i = 0; i < out.length; i += 1) {
        const byte = parseInt(clean.substr(i * 2, 2), 16);
        if (Number.isNaN(byte)) return out.subarray(0, i); // node stops at the first bad pair
        out[i] = byte;
      }
      return out;
    }
    case "base64":
    case "base64url": {
      let clean = text.replace(/[^A-Za-z0-9+/\-_]/g, "").replace(/-/g, "+").replace(/_/g, "/");
      while (clean.length % 4) clean += "=";
      const raw = atob(clean);
      const out = new Uint8Array(raw.length);
      for (let i = 0; i < raw.length; i += 1) out[i] = raw.charCodeAt(i);
      return out;
    }
    default: {
      // latin1 and ascii: one byte per UTF-16 unit, as node does
      const out = new Uint8Array(text.length);
      for (let i = 0; i < text.length; i += 1) out[i] = text.charCodeAt(i) & 0xff;
      return out;
    }
  }
}

function stringOfBytes(bytes, encoding) {
  switch (normalise(encoding)) {
    case "utf8":
      return new TextDecoder().decode(bytes);
    case "hex":
      return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
    case "base64":
    case "base64url": {
      let raw = "";
      for (const byte of bytes) raw += String.fromCharCode(byte);
      const text = btoa(raw);
      return normalise(encoding) === "base64"
        ? text
        : text.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    }
    case "ascii": {
      let text = "";
      for (const byte of bytes) text += String.fromCharCode(byte & 0x7f);
      return text;
    }
    default: {
      let text = "";
      for (const byte of bytes) text += String.fromCharCode(byte);
      return text;
    }
  }
}

export class Buffer extends Uint8Array {
  static from(value, encodingOrOffset, length) {
    if (typeof value === "string") return Buffer.fromBytes(bytesOfString(value, encodingOrOffset));
    if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) {
      const offset = encodingOrOffset || 0;
      return new Buffer(value, offset, length === undefined ? value.byteLength - offset : length);
    }
    if (ArrayBuffer.isView(value)) {
      return Buffer.fromBytes(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    }
    if (value && value.type === "Buffer" && Array.isArray(value.data)) {
      return Buffer.fromBytes(Uint8Array.from(value.data));
    }
    if (value && (Array.isArray(value) || typeof value.length === "number")) {
      return Buffer.fromBytes(Uint8Array.from(value));
    }
    throw new TypeError("Buffer.from: unsupported value");
  }

  static fromBytes(bytes) {
    const out = new Buffer(bytes.length);
    out.set(bytes);
    return out;
  }

  static alloc(size, fill, encoding) {
    const out = new Buffer(size);
    if (fill !== undefined && fill !== 0) out.fill(fill, 0, size, encoding);
    return out;
  }

  static allocUnsafe(size) {
    return new Buffer(size);
  }

  static allocUnsafeSlow(size) {
    return new Buffer(size);
  }

  static isBuffer(value) {
    return value instanceof Buffer;
  }

  static isEncoding(encoding) {
    return ENCODINGS.includes(String(encoding).toLowerCase());
  }

  static byteLength(value, encoding) {
    if (typeof value === "string") return bytesOfString(value, encoding).length;
    return value.byteLength;
  }

  static concat(list, totalLength) {
    const total = totalLength === undefined ? list.reduce((n, b) => n + b.length, 0) : totalLength;
    const out = Buffer.alloc(total);
    let offset = 0;
    for (const part of list) {
      if (offset >= total) break;
      const piece = part.length > total - offset ? part.subarray(0, total - offset) : part;
      out.set(piece, offset);
      offset += piece.length;
    }
    return out;
  }

  static compare(a, b) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i += 1) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
    return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
  }

  toString(encoding, start = 0, end = this.length) {
    return stringOfBytes(this.subarray(start, end), encoding);
  }

  toJSON() {
    return { type: "Buffer", data: Array.from(this) };
  }

  equals(other) {
    return Buffer.compare(this, other) === 0;
  }

  compare(other) {
    return Buffer.compare(this, other);
  }

  // node's slice is a view on the same memory, unlike Uint8Array's copy
  slice(start, end) {
    return this.subarray(start, end);
  }

  fill(value, start = 0, end = this.length, encoding) {
    if (typeof value === "string") {
      const bytes = bytesOfString(value, encoding);
      if (!bytes.length) return super.fill(0, start, end);
      for (let i = start; i < end; i += 1) this[i] = bytes[(i - start) % bytes.length];
      return this;
    }
    return super.fill(value, start, end);
  }

  write(text, offset = 0, length = this.length - offset, encoding = "utf8") {
    const bytes = bytesOfString(text, encoding).subarray(0, Math.min(length, this.length - offset));
    this.set(bytes, offset);
    return bytes.length;
  }

  copy(target, targetStart = 0, sourceStart = 0, sourceEnd = this.length) {
    const piece = this.subarray(sourceStart, Math.min(sourceEnd, sourceStart + target.length - targetStart));
    target.set(piece, targetStart);
    return piece.length;
  }

  view() {
    return new DataView(this.buffer, this.byteOffset, this.byteLength);
  }

  readUInt8(offset = 0) { return this.view().getUint8(offset); }
  readUInt16LE(offset = 0) { return this.view().getUint16(offset, true); }
  readUInt32LE(offset = 0) { return this.view().getUint32(offset, true); }
  readUInt32BE(offset = 0) { return this.view().getUint32(offset, false); }
  readBigUInt64LE(offset = 0) { return this.view().getBigUint64(offset, true); }
  writeUInt8(value, offset = 0) { this.view().setUint8(offset, value); return offset + 1; }
  writeUInt16LE(value, offset = 0) { this.view().setUint16(offset, value, true); return offset + 2; }
  writeUInt32LE(value, offset = 0) { this.view().setUint32(offset, value, true); return offset + 4; }
  writeUInt32BE(value, offset = 0) { this.view().setUint32(offset, value, false); return offset + 4; }
  writeBigUInt64LE(value, offset = 0) { this.view().setBigUint64(offset, BigInt(value), true); return offset + 8; }
}

// node's lowercase aliases
for (const name of ["readUInt8", "readUInt16LE", "readUInt32LE", "readUInt32BE", "writeUInt8",
  "writeUInt16LE", "writeUInt32LE", "writeUInt32BE"]) {
  Buffer.prototype[name.replace("UInt", "Uint")] = Buffer.prototype[name];
}

export const kMaxLength = 2 ** 31 - 1;
