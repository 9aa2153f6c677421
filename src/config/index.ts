/**
 * Configuration: defaults ← JSON file ← environment ← CLI flags, validated once and frozen.
 * Nothing outside `src/config/` reads `process.env`; each module gets only its slice.
 *
 * - `schema.ts`: the schema, one casing (snake_case), every default defined once on its field.
 *   Source plug-ins' sections and env rows come from their descriptors in the registry (`src/oracles/index.ts`).
 * - `load.ts`: `loadConfig` (file + env + CLI) and `configFromObject` (the library API).
 * - `env.ts`: the one table of environment variables (the loader, `--help` and README use it).
 * - `secrets.ts`: `redact`, for everything that prints or logs configuration.
 * - `legacy.ts`: the old camelCase spellings (accepted in files, aliased on the loaded config; deprecated).
 */
export { configSchema, venueEntrySchema, LOG_LEVELS, VENUE_CHANNELS, DEFAULT_VENUE_IDS, SOURCE_SECTION_NAMES, type VenueEntry } from './schema.ts';
export { loadConfig, configFromObject, venueSymbols, enabledVenues, sourceSections, type Config, type VenueConfig } from './load.ts';
export { ENV_VARS, SOURCE_ENV_VARS, envOverrides, parseQuoteGroups, renderEnvHelp, renderEnvMarkdown, type CliOverrides, type EnvVar, type EnvType } from './env.ts';
export { redact, isSecretKey, REDACTED, SECRET_KEYS } from './secrets.ts';
