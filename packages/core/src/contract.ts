/**
 * Typed contracts: methods (params -> result) and events (data) defined once, used by both
 * client and server. Runtime validation is optional, through any Standard Schema library
 * (zod, valibot, TypeBox, …).
 */
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { IpcError } from './errors.js';

export interface MethodDef<P = unknown, R = unknown> {
  params?: StandardSchemaV1<unknown, P>;
  result?: StandardSchemaV1<unknown, R>;
  /** Safe to send again after a reconnect (the engine never replays other methods). */
  idempotent?: boolean;
  /** Type carrier only; never set. */
  readonly __types?: { params: P; result: R };
}

export interface EventDef<D = unknown> {
  data?: StandardSchemaV1<unknown, D>;
  readonly __types?: { data: D };
}

export interface Contract {
  methods: Record<string, MethodDef<any, any>>;
  events: Record<string, EventDef<any>>;
}

/** The contract of an untyped client or server: any method, any event. */
export interface AnyContract extends Contract {
  methods: Record<string, MethodDef<any, any>>;
  events: Record<string, EventDef<any>>;
}

export type MethodName<C extends Contract> = keyof C['methods'] & string;
export type EventName<C extends Contract> = keyof C['events'] & string;
export type ParamsOf<C extends Contract, M extends MethodName<C>> =
  C['methods'][M] extends MethodDef<infer P, any> ? P : never;
export type ResultOf<C extends Contract, M extends MethodName<C>> =
  C['methods'][M] extends MethodDef<any, infer R> ? R : never;
export type EventDataOf<C extends Contract, E extends EventName<C>> =
  C['events'][E] extends EventDef<infer D> ? D : never;

/** Identity function that keeps the literal type of a contract. */
export const defineContract = <C extends Contract>(contract: C): C => contract;

/** A method with types only: `method<{ a: number }, number>()`. */
export function method<P, R>(options?: { idempotent?: boolean }): MethodDef<P, R>;
/** A method validated at runtime: `method({ params: z.object(…), result: z.number() })`. */
export function method<PS extends StandardSchemaV1, RS extends StandardSchemaV1>(def: {
  params?: PS;
  result?: RS;
  idempotent?: boolean;
}): MethodDef<StandardSchemaV1.InferOutput<PS>, StandardSchemaV1.InferOutput<RS>>;
export function method(def: object = {}): MethodDef {
  return def as MethodDef;
}

/** An event with a type only, or with a runtime schema. */
export function eventDef<D>(): EventDef<D>;
export function eventDef<S extends StandardSchemaV1>(data: S): EventDef<StandardSchemaV1.InferOutput<S>>;
export function eventDef(data?: StandardSchemaV1): EventDef {
  return data === undefined ? {} : { data };
}

/**
 * Validates `value` against an optional schema; returns the (possibly transformed) value.
 * @throws IpcError PROTOCOL with the schema's issues in `details`.
 */
export async function validate<T>(
  schema: StandardSchemaV1<unknown, T> | undefined,
  value: unknown,
  what: string,
): Promise<T> {
  if (schema === undefined) return value as T;
  let result = schema['~standard'].validate(value);
  if (result instanceof Promise) result = await result;
  if (result.issues) {
    const first = result.issues[0];
    const path = first?.path?.map((p) => (typeof p === 'object' ? String(p.key) : String(p))).join('.');
    throw new IpcError(
      'PROTOCOL',
      `invalid ${what}${path ? ` at ${path}` : ''}: ${first?.message ?? 'rejected'}`,
      {
        details: { issues: result.issues.map((i) => ({ message: i.message, path: i.path })) },
      },
    );
  }
  return result.value;
}
