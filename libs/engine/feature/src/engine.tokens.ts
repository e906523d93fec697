/** The engine's flow machinery (`EngineCore` from @wallet/engine-flows). */
export const ENGINE_CORE = Symbol('ENGINE_CORE');
