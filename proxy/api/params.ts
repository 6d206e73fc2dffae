// Query parameter parsing: each bad value is a 400 that names the parameter.
import type { Request } from 'express'
import { HttpError } from './errors.ts'

type Query = Request['query']

export function stringParam(q: Query, name: string): string | undefined {
  const v = q[name]
  if (v === undefined) return undefined
  if (typeof v !== 'string') throw new HttpError(400, `'${name}' must be given once, as a plain value`)
  return v
}

export function intParam(q: Query, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const v = stringParam(q, name)
  if (v === undefined || v === '') return undefined
  if (!/^-?\d+$/.test(v)) throw new HttpError(400, `'${name}' must be an integer, got '${v}'`)
  const n = Number(v)
  if (n < min || n > max) throw new HttpError(400, `'${name}' must be between ${min} and ${max}, got ${v}`)
  return n
}

export function enumParam<T extends string>(q: Query, name: string, values: readonly T[]): T | undefined {
  const v = stringParam(q, name)
  if (v === undefined || v === '') return undefined
  if (!(values as readonly string[]).includes(v)) throw new HttpError(400, `'${name}' must be one of ${values.join(', ')}, got '${v}'`)
  return v as T
}

export function boolParam(q: Query, name: string): boolean | undefined {
  const v = stringParam(q, name)
  if (v === undefined || v === '') return undefined
  if (['1', 'true', 'yes'].includes(v)) return true
  if (['0', 'false', 'no'].includes(v)) return false
  throw new HttpError(400, `'${name}' must be 1 or 0, got '${v}'`)
}

/** Epoch milliseconds, or an ISO 8601 date. */
export function timeParam(q: Query, name: string): number | undefined {
  const v = stringParam(q, name)
  if (v === undefined || v === '') return undefined
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v)
  const t = Date.parse(v)
  if (Number.isNaN(t)) throw new HttpError(400, `'${name}' must be epoch milliseconds or an ISO date, got '${v}'`)
  return t
}

/** `secrets=show` is the one way to get secret values out. */
export function showSecrets(q: Query): boolean {
  return enumParam(q, 'secrets', ['show', 'hide'] as const) === 'show'
}
