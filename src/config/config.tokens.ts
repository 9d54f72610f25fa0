/** Injection tokens for what the process reads at start: the environment and the YAML config. */
export const APP_ENV = Symbol('APP_ENV');
export const CONNECTOR_CONFIG = Symbol('CONNECTOR_CONFIG');
export const LOGGER = Symbol('LOGGER');
