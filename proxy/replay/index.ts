// Replay, both ways: `replaySession` re-runs a recording's client side against a server and
// diffs the answers; `startMock` serves a recording's server side to any client. The CLI
// (`mailtap replay`, `mailtap mock`) and the API (routes/replay.ts) come through here.
export { replaySession, ReplayError, type ReplayOptions } from './client-replay.ts'
export { startMock, MockError, type MockOptions, type MockServer } from './mock-server.ts'
export { formatDiff, type DiffRow, type ReplayResult } from './diff.ts'
export { DEFAULT_RULES, normalise, parseRule, type NormaliseRule } from './normalise.ts'
export { loadScript, ScriptError, type Script, type Exchange } from './script.ts'
export { parseMailUrl, EndpointError } from './endpoint.ts'
export { runReplayCommand, runMockCommand, type ReplayCliOptions } from './cli.ts'
