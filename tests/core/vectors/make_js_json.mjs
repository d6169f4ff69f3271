// Writes js-json.json: what JavaScript's JSON.stringify and String.prototype.trim make of the
// inputs below. Run it with Node.js 20+ from this directory after changing an input:
//
//     node make_js_json.mjs > js-json.json
//
// Inputs are JSON *text*, so that each side parses the same source: Python's json.loads reads
// `100.0` as a float and `100` as an int, JavaScript reads both as the double 100. That is how
// the file tells Python which values are floats.

const stringify = [
  // [name, JSON text of the value, indent (null: compact)]
  ["integral floats", "[100.0, -0.0, 0.0, 3.0, -7.0, 1.0, 1e15, 9007199254740991.0]", null],
  [
    "exponents",
    "[1e-05, 1.5e-07, 1e+16, 1e21, 1e-7, 1.2345678901234568e+20, 5e-324, 1.7976931348623157e308," +
      " 1e-6, 1.5e-6, 1e-4, 9.999999999999999e-5, 1e-9, 1e-10, 2.5e-10, 9.999999999999999e+20," +
      " 1e+20, 3.861829644093151e+16, 1.5e+17, -1e-05, -1.5e+300, -2.5e-8, 4.35e-7]",
    null,
  ],
  ["plain floats", "[0.1, 123.456, 2.5, -0.5, 1e-3, 0.30000000000000004, 1.5e+300, 2.2e-308]", null],
  ["ints", "[0, 1, -1, 100, 9007199254740991, -9007199254740991]", null],
  [
    "strings",
    '["plain", "\\ud800", "\\udfff", "a\\ud800b", "\\udc00\\ud800", "\\ud800\\ud800", ' +
      '"\\ud83d\\ude00", "😀", "é€", "\\u0000\\u001f\\u007f\\u0080\\u2028\\u2029", ' +
      '"\\"\\\\/\\b\\f\\n\\r\\t", "\\ufeff\\u200b"]',
    null,
  ],
  [
    "integer-like keys",
    '{"b": 1, "a": 2, "10": 3, "2": 4, "01": 5, "-1": 6, "4294967294": 7, "4294967295": 8,' +
      ' "0": 9, "1.5": 10, "": 11, " 1": 12, "1 ": 13, "\\ud800": 14, "9007199254740993": 15,' +
      ' "4294967293": 16, "+1": 17, "1e3": 18, "\u0661": 19}',
    null,
  ],
  [
    "nested",
    '{"z": {"3": [1.0, {"1": -0.0, "a": 1e-05}], "y": [], "x": {}}, "list": [[], {}, [1.0, [2.0]]],' +
      ' "\\ud800key": "\\udfff", "ok": [true, false, null, "s", 1.5e-07]}',
    null,
  ],
  ["top-level float", "100.0", null],
  ["top-level lone surrogate", '"\\ud800"', null],
  ["top-level null", "null", null],
  ["empty object", "{}", null],
  ["empty array", "[]", null],
];
for (const [name, text] of stringify.filter(([, , indent]) => indent === null).slice()) {
  stringify.push([`${name}, indent 2`, text, 2]);
}
const nested = stringify.find(([name]) => name === "nested")[1];
for (const indent of [0, 1, 4, 10, 12, -1]) stringify.push([`nested, indent ${indent}`, nested, indent]);
stringify.push(["empty containers inside, indent 2", '{"a": {}, "b": [], "c": [[]]}', 2]);

// Values Python writes differently on purpose: ints above 2**53 are written exactly.
const pythonDiffers = [
  ["int above 2**53", "9007199254740993"],
  ["int far above 2**53", "123456789012345678901234567890"],
];

// The toJSON() object of an event, keys in the original's order (custom extensions before the
// Arvo ones). JSON.stringify moves the integer-like extension key "42" to the front.
const event = `{
  "id": "e-1", "source": "com.test.producer", "specversion": "1.0", "type": "com.test.event",
  "subject": "my-subject",
  "datacontenttype": "application/cloudevents+json;charset=UTF-8;profile=arvo",
  "dataschema": null,
  "data": {"value": 3.0, "ratio": 0.5, "zero": -0.0, "tiny": 1e-05, "small": 1.5e-07,
           "big": 1e+16, "huge": 1e21, "bigger": 1.2345678901234568e+20, "min": 5e-324,
           "max": 1.7976931348623157e308, "text": "a\\ud800b\\udfff", "emoji": "\\ud83d\\ude00",
           "byIndex": {"b": 1.0, "2": 2.0, "1": 1.0, "01": 0.0, "-1": -1.0},
           "list": [1.0, [2.5, {"10": 10.0, "9": 9.0}]]},
  "time": "2024-01-01T00:00:00.000+00:00",
  "ext": "x", "42": 1.0,
  "to": "com.test.event", "accesscontrol": null, "redirectto": null, "executionunits": 2.0,
  "traceparent": null, "tracestate": null, "parentid": null, "domain": null
}`;

// Every BMP code unit is tried: the ones trim() removes from both ends of "x".
const trimmed = [];
for (let unit = 0; unit <= 0xffff; unit++) {
  const c = String.fromCharCode(unit);
  if ((c + "x" + c).trim() === "x") trimmed.push(unit);
}
const trimInputs = [
  " \t\n order-42 \r\n",
  "\ufeffid\ufeff",
  "\x1cid\x1f",
  "\x85id\x85",
  "\u180eid\u180e",
  "\u200bid\u200b",
  "\u00a0\u1680\u2000\u2005\u200a\u2028\u2029\u202f\u205f\u3000x y\u3000\v\f",
  "  ",
  "",
  "\ud800 ",
];
// cleanString as the arvo-core spec (section 0.5) describes it: trim each line, drop empty ones.
const cleanString = (s) =>
  s
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .join("\n");
const cleanInputs = [
  "  Hello  \n  World  \n\n  ",
  "\ufeff a \x85\n\x1c\n \u3000\n\u2028b\u2029",
];

const out = {
  generator: "tests/core/vectors/make_js_json.mjs",
  node: process.version,
  stringify: stringify.map(([name, input, indent]) => ({
    name,
    input,
    indent,
    expected: JSON.stringify(JSON.parse(input), null, indent ?? undefined),
  })),
  python_differs: pythonDiffers.map(([name, input]) => ({
    name,
    input,
    javascript: JSON.stringify(JSON.parse(input)),
  })),
  event: {
    input: event,
    expected: JSON.stringify(JSON.parse(event)),
    expected_indent_2: JSON.stringify(JSON.parse(event), null, 2),
  },
  trim: {
    code_units: trimmed,
    cases: trimInputs.map((input) => ({ input, expected: input.trim() })),
  },
  clean_string: cleanInputs.map((input) => ({ input, expected: cleanString(input) })),
};
process.stdout.write(JSON.stringify(out, null, 1) + "\n");
