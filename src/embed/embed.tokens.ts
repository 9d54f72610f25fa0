/** The embedded panels' settings (EmbedSettings), read from the environment once at start. */
export const EMBED_SETTINGS = Symbol('EMBED_SETTINGS');
