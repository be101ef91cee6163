/**
 * Whether a value travels over hypha-rpc exactly as it is: numbers, strings, booleans, null, bytes
 * (Uint8Array), and arrays and plain objects of those. Anything else (functions, encoded objects with an
 * `_rtype`, typed arrays, class instances, bigints) needs hypha-rpc's own encoder or decoder.
 */
const MAX_DEPTH = 64;

export function isWirePlain(value: unknown, depth = 0): boolean {
  if (value === null) return true;
  switch (typeof value) {
    case "number":
    case "string":
    case "boolean":
      return true;
    case "object":
      break;
    default:
      return false;
  }
  if (depth >= MAX_DEPTH) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (!isWirePlain(item, depth + 1)) return false;
    return true;
  }
  if (value instanceof Uint8Array) return true;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  const record = value as Record<string, unknown>;
  if ("_rtype" in record) return false;
  for (const key in record) if (!isWirePlain(record[key], depth + 1)) return false;
  return true;
}
