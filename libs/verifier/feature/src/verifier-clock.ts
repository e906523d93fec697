/** The verifier's time source: sessions, codes, grants, request objects and presentation checks read it, so tests can freeze it. */
export type Clock = () => Date;

/** The Nest token of the verifier's `Clock` (the system clock unless a test overrides the provider). */
export const VERIFIER_CLOCK = Symbol('VERIFIER_CLOCK');

export const systemClock: Clock = () => new Date();
