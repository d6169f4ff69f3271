// Answers one request per line on stdin, for the differential test of test_js_json.py:
//   {"json": "<JSON text>", "indent": n | null}  ->  JSON.stringify(JSON.parse(json), null, indent)
//   {"trim": "<text>"}                            ->  text.trim()
// Each answer is one line: the resulting string, itself JSON-encoded.
import { createInterface } from "node:readline";

for await (const line of createInterface({ input: process.stdin })) {
  const request = JSON.parse(line);
  const answer =
    "trim" in request
      ? request.trim.trim()
      : JSON.stringify(JSON.parse(request.json), null, request.indent ?? undefined);
  process.stdout.write(JSON.stringify(answer) + "\n");
}
