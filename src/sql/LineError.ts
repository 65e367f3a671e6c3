/**
 * The base of the embedded database's errors: tagged (`_tag`, for `Effect.catchTag`), and
 * printed as their one line and stack. Their fields are not enumerable, so a printed error
 * says nothing twice (a runtime printing the error shows its enumerable fields after it).
 */
export const LineError = <Tag extends string>(tag: Tag) =>
  class extends Error {
    constructor(message: string, fields: Readonly<Record<string, unknown>>, options?: ErrorOptions) {
      super(message, options)
      for (const [key, value] of Object.entries(fields)) Object.defineProperty(this, key, { value })
    }
    get _tag(): Tag {
      return tag
    }
    override get name(): string {
      return tag
    }
  }
