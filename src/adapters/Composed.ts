/**
 * Some of fusion-auth's refusals ride an option of the app's or of a plugin's: a function Better
 * Auth or the plugin calls with what it has just read (`user.validateUserInfo`, the OAuth
 * provider's claims and token fields, passkey registration's steps). The option is composed in
 * place at `init`, and an options object seen twice (two auth instances sharing it) is composed
 * once: every gate made here is marked.
 */
const gates = new WeakSet<object>()

/** `holder[key]` becomes `wrap(app)` (`app`: the option as the app gave it), unless it is a gate already or `wrap` gives none. */
export const composeOnce = <K extends string, F extends object>(
  holder: { [P in K]?: F | undefined },
  key: K,
  wrap: (app: F | undefined) => F | undefined
): void => {
  const app = holder[key]
  if (app !== undefined && gates.has(app)) return
  const gate = wrap(app)
  if (gate === undefined) return
  gates.add(gate)
  holder[key] = gate
}
