// Runs every differential case through real XState v5 in one process.
//
// Usage: node runner.mjs <cases.json>  -> prints one JSON document on stdout.
// Each case is run twice:
//   * "restore": like Arvo's MachineExecutionEngine, every event is processed by a fresh actor
//     restored from the previous persisted snapshot (createActor(machine, {snapshot})).
//   * "live": one actor receives the whole script.
// After the start and after every event the persisted snapshot and the emitted events are
// recorded. The vocabulary below must match vocabulary.py exactly.
import { readFileSync } from 'node:fs';
import { setup, createActor, assign, emit, raise, and, or, not, stateIn } from 'xstate';

const actions = {
  inc: assign({ count: ({ context }) => context.count + 1 }),
  dec: assign({ count: ({ context }) => context.count - 1 }),
  add: assign(({ context }, params) => ({ count: context.count + params.n })),
  set_from_event: assign(({ event }) => ({ x: event.x ?? null })),
  log: assign(({ context }, params) => ({ log: [...context.log, params.m] })),
  log_event: assign(({ context, event }, params) => ({
    log: [...context.log, `${params.m}@${event.type}`],
  })),
  capture_output: assign(({ event }) => ({ out: event.output ?? null })),
  touch: assign(({ context }) => ({ count: context.count })),
  emit_marker: emit(({ context, event }, params) => ({
    type: 'marker',
    tag: params?.tag ?? null,
    count: context.count ?? null,
    log: [...(context.log ?? [])],
    cause: event.type,
  })),
  emit_event: emit((_, params) => ({ ...params })),
  raise: raise((_, params) => ({ ...params })),
  raise_x: raise({ type: 'x' }),
  noop: () => {},
};

const guards = {
  is_positive: ({ context }) => context.count > 0,
  count_lt_3: ({ context }) => context.count < 3,
  count_lt: ({ context }, params) => context.count < params.n,
  count_eq: ({ context }, params) => context.count === params.n,
  event_flag: ({ event }) => event.flag === true,
  event_x_gt: ({ event }, params) => typeof event.x === 'number' && event.x > params.n,
  log_has: ({ context }, params) => context.log.includes(params.m),
  always_true: () => true,
  always_false: () => false,
};

const contextFns = {
  from_input: ({ input }) => ({ count: input?.start ?? 0, log: [], x: null }),
};

const outputFns = {
  ctx: ({ context }) => ({ count: context.count, log: context.log }),
  done_event: ({ context, event }) => ({
    type: event.type,
    output: event.output ?? null,
    count: context.count,
  }),
  count_only: ({ context }) => context.count,
};

function convert(value, key) {
  if (Array.isArray(value)) return value.map((v) => convert(v, key));
  if (value && typeof value === 'object') {
    if ('$fn' in value) return key === 'context' ? contextFns[value.$fn] : outputFns[value.$fn];
    if ('$and' in value) return and(value.$and.map((g) => convert(g, 'guard')));
    if ('$or' in value) return or(value.$or.map((g) => convert(g, 'guard')));
    if ('$not' in value) return not(convert(value.$not, 'guard'));
    if ('$stateIn' in value) return stateIn(value.$stateIn);
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = convert(v, k);
    return out;
  }
  return value;
}

function describe(error) {
  return error instanceof Error ? error.message : String(error);
}

function record(actor, emitted, errors) {
  const snapshot = actor.getPersistedSnapshot();
  const error = errors[0] ?? (snapshot.status === 'error' ? describe(snapshot.error) : null);
  if ('error' in snapshot) snapshot.error = snapshot.error == null ? null : describe(snapshot.error);
  return { snapshot, emitted: [...emitted], error };
}

function makeActor(machine, options) {
  const emitted = [];
  const errors = [];
  const actor = createActor(machine, options);
  actor.on('*', (e) => emitted.push(e));
  actor.subscribe({ error: (e) => errors.push(describe(e)) });
  return { actor, emitted, errors };
}

function runRestore(machine, testCase) {
  let { actor, emitted, errors } = makeActor(machine, { input: testCase.input });
  actor.start();
  const initial = record(actor, emitted, errors);
  const steps = [];
  let snapshot = initial.snapshot;
  if (initial.error) return { initial, steps };
  for (const event of testCase.events) {
    ({ actor, emitted, errors } = makeActor(machine, { snapshot }));
    actor.start();
    try {
      actor.send(event);
    } catch (e) {
      errors.push(describe(e));
    }
    const step = record(actor, emitted, errors);
    steps.push(step);
    snapshot = step.snapshot;
    if (step.error) break;
  }
  return { initial, steps };
}

function runLive(machine, testCase) {
  const { actor, emitted, errors } = makeActor(machine, { input: testCase.input });
  actor.start();
  const initial = record(actor, emitted, errors);
  const steps = [];
  if (initial.error) return { initial, steps };
  for (const event of testCase.events) {
    emitted.length = 0;
    try {
      actor.send(event);
    } catch (e) {
      errors.push(describe(e));
    }
    const step = record(actor, emitted, errors);
    steps.push(step);
    if (step.error) break;
  }
  return { initial, steps };
}

const cases = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const results = {};
for (const testCase of cases) {
  try {
    // A finite cap so a runaway case fails instead of exhausting memory (XState's default is
    // Infinity); every case settles well below it.
    const config = { ...convert(testCase.machine, null), options: { maxIterations: 1000 } };
    const machine = setup({ actions, guards }).createMachine(config);
    results[testCase.name] = {
      restore: runRestore(machine, testCase),
      live: runLive(machine, testCase),
    };
  } catch (e) {
    results[testCase.name] = { definitionError: describe(e) };
  }
}
process.stdout.write(JSON.stringify(results));
