// node's `util`, as far as the Wallet Selector bundle asks for it: generate-function (used by
// is-my-json-valid, for contract ABIs that the sign-in never uses) formats source lines.
export function format(pattern, ...args) {
  if (typeof pattern !== "string") return [pattern, ...args].map(inspect).join(" ");
  let index = 0;
  const text = pattern.replace(/%[sdifjoO%]/g, (token) => {
    if (token === "%%") return "%";
    if (index >= args.length) return token;
    const value = args[index++];
    if (token === "%d" || token === "%i") return String(parseInt(value, 10));
    if (token === "%f") return String(parseFloat(value));
    if (token === "%j" || token === "%o" || token === "%O") return inspect(value);
    return String(value);
  });
  return [text, ...args.slice(index).map(inspect)].join(" ");
}

export function inspect(value) {
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}
